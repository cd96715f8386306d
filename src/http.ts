// The HTTP handler around the app: the request's target (routing by its path alone), a request id,
// the rate limits (per token, and failed authentication per client address), the headers every
// answer carries, and one structured JSON log line per request (never the token). Bun.serve calls
// it; specs call it in process. Whatever goes wrong, the answer is JSON from here.
import type { Server } from 'bun'
import type { App } from './app.ts'
import { readAccessToken, tokenKey } from './kpi/access-token.ts'
import { factsOf, type RequestFacts } from './ops/request-facts.ts'
import type { Metrics } from './ops/metrics.ts'
import type { RateDecision, RateLimiter } from './ops/rate-limit.ts'
import { readdressed, requestTarget } from './ops/request-target.ts'
import { untilEnd, type InFlight, type StreamOutcome } from './ops/in-flight.ts'
import { AllowlistRevokedError } from './errors.ts'

export type LogLine = Record<string, unknown>

export interface HandlerDeps {
  readonly app: Pick<App, 'handle'>
  /** API requests per token (per address without one). */
  readonly rateLimiter: RateLimiter
  /** Failed authentications per client address; past it, the address gets 429 before the database. */
  readonly authFailures?: RateLimiter
  /** True once the server is stopping: answers say Connection: close. */
  readonly draining?: () => boolean
  /** Counts requests until their answer is sent, streamed exports until their last byte. */
  readonly inFlight?: InFlight
  /** Receives one object per request; the server writes it as a JSON line. */
  readonly log: (line: LogLine) => void
  /** Counts every request (the admin listener serves them at /metrics). */
  readonly metrics?: Metrics
  /** A streamed export whose client takes nothing for this long is cut (EXPORT_WRITE_TIMEOUT_MS); none when absent. */
  readonly writeTimeoutMs?: number
}

/**
 * A strong ETag for a JSON or CSV answer of the API that is not streamed (a page, the metrics),
 * and 304 with no body when the client already has it (If-None-Match). A streamed export has none:
 * its hash would need the whole export before its first byte. Conversation data must not sit in
 * shared or browser caches: Cache-Control says private, no-store; a client that re-polls keeps the
 * ETag itself and sends it back.
 */
async function withEtag(request: Request, response: Response, streamed: boolean): Promise<Response> {
  const type = response.headers.get('content-type') ?? ''
  const tagged = type.startsWith('application/json') || type.startsWith('text/csv')
  if (request.method !== 'GET' || response.status !== 200 || streamed || !tagged) return response
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

/** The headers every answer carries, whatever produced it. */
const ALWAYS = { 'x-content-type-options': 'nosniff' } as const

function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  return {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.resetSeconds),
  }
}

function tooMany(decision: RateDecision, what: string): Response {
  return Response.json(
    { error: `Too many requests: at most ${decision.limit} ${what}; retry after ${decision.resetSeconds} s` },
    { status: 429, headers: { ...rateLimitHeaders(decision), 'retry-after': String(decision.resetSeconds) } },
  )
}

/** What each way an export can end is logged as. */
const EXPORT_ENDS: Record<StreamOutcome, { readonly level: string; readonly message: string }> = {
  complete: { level: 'info', message: 'export complete' },
  cancelled: { level: 'info', message: 'export cancelled by the client' },
  stalled: { level: 'warn', message: 'export cut: the client stopped reading (EXPORT_WRITE_TIMEOUT_MS)' },
  shutdown: { level: 'warn', message: 'export cut: the shutdown grace period is over' },
  failed: { level: 'error', message: 'export incomplete: the stream was cut' },
}

/** A failed export whose one account left the allowlist: cut on purpose, not a failure of the service. */
const REVOKED = { level: 'warn', message: 'export cut: its account was removed from the VBET allowlist' } as const

/** A complete export of several accounts that went on without one removed on its way: its file lacks that account's later rows. */
const NARROWED = { level: 'warn', message: 'export complete without the accounts removed from the VBET allowlist on its way' } as const

/** How an export ended, for its line: why it was cut, or which accounts it went on without. */
function exportEnd(outcome: StreamOutcome, error: unknown, accountsRemoved: readonly number[] | undefined) {
  if (outcome === 'failed' && error instanceof AllowlistRevokedError) return REVOKED
  if (accountsRemoved?.length) return { ...(outcome === 'complete' ? NARROWED : EXPORT_ENDS[outcome]), accounts_removed: accountsRemoved }
  return EXPORT_ENDS[outcome]
}

export function createHandler({ app, rateLimiter, authFailures, log, metrics, draining, inFlight, writeTimeoutMs }: HandlerDeps) {
  return async function handle(request: Request, server?: Server<unknown>): Promise<Response> {
    const started = performance.now()
    const ended = inFlight?.begin() ?? (() => {})
    const target = requestTarget(request)
    const { url } = target
    const given = request.headers.get('x-request-id')
    const id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID()
    const isApi = url.pathname.startsWith('/api/')
    const addressKey = `address:${server?.requestIP(request)?.address ?? 'unknown'}`

    let response: Response
    const headers: Record<string, string> = { ...ALWAYS, 'x-request-id': id }
    let items: number | undefined
    let streamed = false
    let facts: RequestFacts | undefined
    try {
      if (!target.ok) {
        response = Response.json({ error: `Bad request: ${target.problem}` }, { status: 400 })
      } else {
        const routed = readdressed(request, url)
        facts = factsOf(routed)
        facts.id = id
        let refused: Response | undefined
        if (isApi && authFailures?.enabled) {
          const decision = await authFailures.peek(addressKey)
          if (!decision.allowed) refused = tooMany(decision, 'failed authentications a minute from one address')
        }
        if (isApi && !refused && rateLimiter.enabled) {
          // By token, valid or not (a flood of bad tokens is limited too); without one, by address.
          const reading = readAccessToken(request.headers)
          const decision = await rateLimiter.take(reading.kind === 'token' ? `token:${tokenKey(reading.token)}` : addressKey)
          Object.assign(headers, rateLimitHeaders(decision))
          if (!decision.allowed) refused = tooMany(decision, 'requests a minute for one token')
        }
        response = refused ?? (await app.handle(routed))
        if (isApi && !refused) response = await withEtag(routed, response, facts.streamed === true)
        if (facts.authFailed) await authFailures?.take(addressKey)
        items = facts.items
        streamed = facts.streamed === true
      }
    } catch (error) {
      // app.handle answers every error itself; this is the last guard.
      response = Response.json({ error: 'Internal server error' }, { status: 500 })
      log({ level: 'error', message: 'unhandled', request_id: id, error: String(error) })
    }
    if (draining?.()) headers.connection = 'close'
    const body = streamed ? response.body : null
    let untrack = () => {}
    const tracked = body
      ? untilEnd(
          body,
          ({ outcome, rows, bytes, error }) => {
            untrack()
            ended()
            // The request's line went out with the headers; how its export ended gets a line of its own, once.
            log({
              ...exportEnd(outcome, error, facts?.accountsRemoved),
              request_id: id,
              rows,
              bytes,
              duration_ms: Math.round(performance.now() - started),
              ...(error === undefined ? {} : { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
            })
          },
          // A cut export's connection is closed: Bun sends nothing more after the body errors, but
          // keeps the connection open; a timeout of one second on it (Bun checks them every few
          // seconds) closes it.
          { writeTimeoutMs, onCut: () => server?.timeout(request, 1) },
        )
      : undefined
    if (tracked) untrack = inFlight?.track(tracked.cut) ?? untrack
    const answered = new Response(tracked ? tracked.stream : response.body, response)
    if (!body) ended()
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
      items,
    })
    return answered
  }
}

/** Bun's last resort when the handler itself throws: JSON, never the runtime's HTML error page. */
export function lastResortResponse(): Response {
  return Response.json({ error: 'Internal server error' }, { status: 500, headers: ALWAYS })
}
