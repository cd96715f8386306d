// The HTTP handler around the app: a request id, the per-token rate limit, and one structured JSON
// log line per request (never the token). Bun.serve calls it; specs call it in process.
import type { Server } from 'bun'
import type { App } from './app.ts'
import { accessToken } from './kpi/conversations.routes.ts'
import { factsOf } from './ops/request-facts.ts'
import type { RateLimiter } from './ops/rate-limit.ts'

export type LogLine = Record<string, unknown>

export interface HandlerDeps {
  readonly app: Pick<App, 'handle'>
  readonly rateLimiter: RateLimiter
  /** Receives one object per request; the server writes it as a JSON line. */
  readonly log: (line: LogLine) => void
}

const REQUEST_ID = /^[\w.:-]{1,128}$/
const LOGGED_VALUE_MAX = 200

/** The query for the log: every parameter but anything named like a token, values cut short. */
function loggedQuery(url: URL): string | undefined {
  const kept = [...url.searchParams].filter(([name]) => !/token/i.test(name))
  if (kept.length === 0) return undefined
  return new URLSearchParams(kept.map(([name, value]) => [name.slice(0, 64), value.slice(0, LOGGED_VALUE_MAX)])).toString()
}

export function createHandler({ app, rateLimiter, log }: HandlerDeps) {
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
    } catch (error) {
      // app.handle answers every error itself; this is the last guard.
      response = Response.json({ error: 'Internal server error' }, { status: 500 })
      log({ level: 'error', message: 'unhandled', request_id: id, error: String(error) })
    }
    const answered = new Response(response.body, response)
    for (const [name, value] of Object.entries(headers)) answered.headers.set(name, value)

    log({
      level: response.status >= 500 ? 'error' : 'info',
      message: 'request',
      request_id: id,
      method: request.method,
      path: url.pathname.slice(0, LOGGED_VALUE_MAX),
      query: loggedQuery(url),
      status: response.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      items: facts.items,
    })
    return answered
  }
}
