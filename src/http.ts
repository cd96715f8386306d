// The HTTP handler around the app: a request id, the per-token rate limit, and one structured JSON
// log line per request (never the token). Bun.serve calls it; specs call it in process.
import type { Server } from 'bun'
import type { App } from './app.ts'
import { accessToken } from './kpi/conversations.routes.ts'
import { factsOf } from './ops/request-facts.ts'
import type { Metrics } from './ops/metrics.ts'
import type { RateLimiter } from './ops/rate-limit.ts'

export type LogLine = Record<string, unknown>

export interface HandlerDeps {
  readonly app: Pick<App, 'handle'>
  readonly rateLimiter: RateLimiter
  /** Receives one object per request; the server writes it as a JSON line. */
  readonly log: (line: LogLine) => void
  /** Counts every request (the app serves them at /metrics). */
  readonly metrics?: Metrics
}

/**
 * A strong ETag for a JSON answer of the API, and 304 with no body when the client already has it
 * (If-None-Match). Conversation data must not sit in shared or browser caches: Cache-Control says
 * private, no-store; a client that re-polls keeps the ETag itself and sends it back.
 */
async function withEtag(request: Request, response: Response): Promise<Response> {
  const type = response.headers.get('content-type') ?? ''
  if (request.method !== 'GET' || response.status !== 200 || !type.startsWith('application/json')) return response
  const body = await response.arrayBuffer()
  const etag = `"${new Bun.CryptoHasher('sha256').update(body).digest('base64url').slice(0, 32)}"`
  const headers = new Headers(response.headers)
  headers.set('etag', etag)
  headers.set('cache-control', 'private, no-store')
  const known = (request.headers.get('if-none-match') ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''))
  if (known.includes(etag) || known.includes('*')) {
    headers.delete('content-type')
    headers.delete('content-length')
    return new Response(null, { status: 304, headers })
  }
  return new Response(body, { status: 200, headers })
}

const REQUEST_ID = /^[\w.:-]{1,128}$/
const LOGGED_VALUE_MAX = 200

/** The query for the log: every parameter but anything named like a token, values cut short. */
function loggedQuery(url: URL): string | undefined {
  const kept = [...url.searchParams].filter(([name]) => !/token/i.test(name))
  if (kept.length === 0) return undefined
  return new URLSearchParams(kept.map(([name, value]) => [name.slice(0, 64), value.slice(0, LOGGED_VALUE_MAX)])).toString()
}

export function createHandler({ app, rateLimiter, log, metrics }: HandlerDeps) {
  return async function handle(request: Request, server?: Server<unknown>): Promise<Response> {
    const started = performance.now()
    const url = new URL(request.url)
    const given = request.headers.get('x-request-id')
    const id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID()
    const facts = factsOf(request)
    facts.id = id

    let response: Response | undefined
    const headers: Record<string, string> = { 'x-request-id': id }
    if (rateLimiter.enabled && url.pathname.startsWith('/api/')) {
      // By token, valid or not (a flood of bad tokens is limited too); without one, by address.
      const token = accessToken(request.headers)
      const key = token ? `token:${token}` : `address:${server?.requestIP(request)?.address ?? 'unknown'}`
      const decision = rateLimiter.take(key)
      headers['ratelimit-limit'] = String(decision.limit)
      headers['ratelimit-remaining'] = String(decision.remaining)
      headers['ratelimit-reset'] = String(decision.resetSeconds)
      if (!decision.allowed) {
        headers['retry-after'] = String(decision.resetSeconds)
        response = Response.json({ error: `Too many requests: at most ${decision.limit} a minute for one token; retry after ${decision.resetSeconds} s` }, { status: 429 })
      }
    }
    try {
      response ??= await app.handle(request)
      if (url.pathname.startsWith('/api/')) response = await withEtag(request, response)
    } catch (error) {
      // app.handle answers every error itself; this is the last guard.
      response = Response.json({ error: 'Internal server error' }, { status: 500 })
      log({ level: 'error', message: 'unhandled', request_id: id, error: String(error) })
    }
    const answered = new Response(response.body, response)
    for (const [name, value] of Object.entries(headers)) answered.headers.set(name, value)

    const seconds = (performance.now() - started) / 1000
    metrics?.observe(response.status, seconds)
    log({
      level: response.status >= 500 ? 'error' : 'info',
      message: 'request',
      request_id: id,
      method: request.method,
      path: url.pathname.slice(0, LOGGED_VALUE_MAX),
      query: loggedQuery(url),
      status: response.status,
      duration_ms: Math.round(seconds * 10_000) / 10,
      items: facts.items,
    })
    return answered
  }
}
