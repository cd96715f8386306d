// What a request asks for, from its request line alone: the path and query, as a URL every layer
// (router, rate limiter, log) reads the same way. The Host header plays no part in routing; a Host
// the service cannot use makes the request unusable (400), a missing one does not (HTTP/1.0).
//
// Why by hand: Bun's `request.url` is `http://<Host><target>` when the Host parses and the bare
// target when it does not (or is missing), and Elysia finds the path at `url.indexOf('/', 11)`,
// which a Host of three characters or fewer shifts. No library sits between the two; the rules
// below are RFC 9110's (Host = uri-host [":" port]) and RFC 3986's (reg-name, IP literals).
import type { ResponseDoc } from '../docs/openapi.ts'
import { EVERY_ANSWER } from '../docs/response-headers.ts'
import { ErrorBody } from '../kpi/conversations.model.ts'

/** The 400 every operation may answer (the HTTP layer does, before routing), for the OpenAPI document. */
export const UNUSABLE_REQUEST_RESPONSE: ResponseDoc = {
  description: 'A request the service cannot use: a malformed Host header, or one sent twice.',
  example: { error: 'Bad request: the Host header is malformed or repeated' },
  jsonSchema: ErrorBody,
  headers: EVERY_ANSWER,
}

/** Where every request is re-addressed before it reaches the app: a Host long enough for Elysia's router. */
const CANONICAL_ORIGIN = 'http://localhost'

// reg-name (unreserved, sub-delims, percent-encoded) or an IPv6/IPvFuture literal, then an optional port.
const HOST = /^(?:[\w.~!$&'()*+,;=%-]*|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/

export type RequestTarget = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly url: URL; readonly problem: string }

/**
 * The request's target as `http://localhost<path>?<query>`. Unusable (with the reason) when the Host
 * header is malformed or given twice; `url` then still holds the path, for the log.
 */
export function requestTarget(request: Request): RequestTarget {
  const url = parseTarget(request.url)
  if (!url) return { ok: false, url: new URL(`${CANONICAL_ORIGIN}/`), problem: 'the request target is not a path' }
  const host = request.headers.get('host')
  // Headers joins repeated lines with ", ", which no valid Host contains.
  if (host !== null && !HOST.test(host)) return { ok: false, url, problem: 'the Host header is malformed or repeated' }
  return { ok: true, url }
}

function parseTarget(raw: string): URL | undefined {
  // `http://host/path?q` (the Host parsed) or `/path?q` (it did not, or there was none).
  const start = raw.startsWith('/') ? 0 : raw.indexOf('/', raw.indexOf('://') + 3)
  if (start < 0) return undefined
  try {
    // Concatenated, not resolved against a base: `//a/b` is a path here, not a host.
    return new URL(CANONICAL_ORIGIN + raw.slice(start))
  } catch {
    return undefined
  }
}

/** The request, re-addressed to its canonical URL, so the router sees the path this module found. */
export function readdressed(request: Request, url: URL): Request {
  return request.url === url.href ? request : new Request(url.href, request)
}
