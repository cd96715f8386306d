// createApp: the whole HTTP service as an Elysia instance, built from what it is given (a database
// connection and the configuration) with no side effects, so specs build as many as they like.
import { randomBytes } from 'node:crypto'
import { Elysia } from 'elysia'
import { DEFAULT_CHANGES_LAG_SECONDS, DEFAULT_CHANGES_RETENTION_DAYS, DEFAULT_COUNT_CACHE_TTL_MS, DEFAULT_PAGE_BOUNDARY_TTL_MS, DEFAULT_TOKEN_CACHE_TTL_MS, type Config } from './config.ts'
import type { Connection, PoolStats } from './db/dialect.ts'
import { swaggerDocs } from './docs/swagger.ts'
import { ApiError, DatabaseMisconfiguredError, NotFoundError, ServiceBusyError, ServiceUnavailableError, ValidationError } from './errors.ts'
import { INTEGER_PARAMETERS, PARAMETER_RULES } from './kpi/conversations.model.ts'
import { CONVERSATIONS_HEADER_PARAMETERS, CONVERSATIONS_PATH, CONVERSATIONS_RESPONSES, conversationsRoutes } from './kpi/conversations.routes.ts'
import { CHANGES_PATH, CHANGES_RESPONSES, changesRoutes } from './kpi/changes.routes.ts'
import type { ChangesDeps } from './kpi/changes.service.ts'
import { CHANGES_INTEGER_PARAMETERS } from './kpi/changes.model.ts'
import { CONVERSATION_METRICS_PATH, CONVERSATION_METRICS_RESPONSES, conversationMetricsRoutes } from './kpi/metrics.routes.ts'
import { dashboardRoutes } from './ui/dashboard.routes.ts'
import { HEALTH_RESPONSES, healthRoutes, READY_RESPONSES } from './ops/health.routes.ts'
import { RESPONSE_HEADERS } from './docs/response-headers.ts'
import { factsOf } from './ops/request-facts.ts'
import { Seal } from './state/seal.ts'
import { SharedCache } from './state/shared-cache.ts'
import { MemoryState, type SharedState } from './state/shared-state.ts'
import { Metrics, type MetricFamily } from './ops/metrics.ts'
import { CaptureProbe } from './sync/capture-probe.ts'
import type { PageBoundary } from './kpi/conversations.repository.ts'
import type { TokenOwner } from './kpi/conversations.rules.ts'
import packageJson from '../package.json' with { type: 'json' }

export interface AppDeps {
  readonly connection: Connection
  readonly config: Pick<Config, 'kpiTrackerEmail'> &
    Partial<Pick<Config, 'countCacheTtlMs' | 'tokenCacheTtlMs' | 'pageBoundaryTtlMs' | 'cursorSecret' | 'changesLagSeconds' | 'changesRetentionDays'>>
  /** The clock for the defaults of since/until; the real one unless a spec pins it. */
  readonly now?: () => Date
  /** Where unexpected errors are reported (never with a token); stderr unless a spec listens. */
  readonly logError?: (message: string, error: unknown) => void
  /** Where other log lines go (warnings of what the service noticed, the change capture found or gone); stderr unless a spec listens. */
  readonly log?: (line: Record<string, unknown>) => void
  /** Whether the changes feed can be exact (the change capture); one per connection unless a spec brings its own. */
  readonly capture?: CaptureProbe
  /** The changes feed's clock in plain mode: the database's, unless a spec simulates time. */
  readonly feedClock?: ChangesDeps['feedClock']
  /** Where the app's parts report (pool, caches, shared state); the admin listener serves it at /metrics (src/ops/admin.ts). */
  readonly metrics?: Metrics
  /** Where caches live: shared by all instances (Redis) or this process's memory (the default). */
  readonly state?: SharedState
}

export const API_TITLE = 'KPI Conversations API'

export function createApp(deps: AppDeps) {
  const { connection } = deps
  const logError = deps.logError ?? ((message, error) => console.error(JSON.stringify({ level: 'error', message, error: String(error) })))

  const log = deps.log ?? ((line) => console.error(JSON.stringify(line)))
  const capture = deps.capture ?? new CaptureProbe(connection, { log })

  const metrics = deps.metrics ?? new Metrics()
  const state = deps.state ?? new MemoryState()
  // Without CURSOR_SECRET, cursors hold for this process only (docs/configuration.md, CURSOR_SECRET).
  const cursorSecret = deps.config.cursorSecret ?? randomBytes(32).toString('hex')
  // What is read back from the shared state is used only under this deployment's seal: whoever can
  // write to Redis cannot become the KPI tracker, change a count or move a page's start.
  const seal = new Seal(cursorSecret)
  const onRejected = (cache: string) =>
    log({
      level: 'warn',
      message:
        `shared state: a ${cache} value read back failed its seal and was ignored (forged in Redis, or sealed by an instance with another ` +
        'CURSOR_SECRET); logged once per cache, counted in kpi_shared_state_rejected_total',
      cache,
    })
  const cache = <V>(namespace: string, ttlMs: number) => new SharedCache<V>(state, namespace, ttlMs, seal, { onRejected })
  const kpi = {
    connection,
    kpiTrackerEmail: deps.config.kpiTrackerEmail,
    now: deps.now ?? (() => new Date()),
    counts: cache<number>('count', deps.config.countCacheTtlMs ?? DEFAULT_COUNT_CACHE_TTL_MS),
    tokenOwners: cache<TokenOwner | undefined>('token', deps.config.tokenCacheTtlMs ?? DEFAULT_TOKEN_CACHE_TTL_MS),
    boundaries: cache<PageBoundary>('boundary', deps.config.pageBoundaryTtlMs ?? DEFAULT_PAGE_BOUNDARY_TTL_MS),
    cursorSecret,
  }
  metrics.collect(() => [
    {
      name: 'kpi_cache_lookups_total',
      help: 'Cache lookups by cache and result (count: items_count by scope; token: token owners; boundary: where the page before a page number ended). With a cache off, every lookup is a miss.',
      type: 'counter',
      samples: [kpi.counts, kpi.tokenOwners, kpi.boundaries].flatMap((cache) => [
        { labels: { cache: cache.namespace, result: 'hit' }, value: cache.hits },
        { labels: { cache: cache.namespace, result: 'miss' }, value: cache.misses },
      ]),
    },
    {
      name: 'kpi_shared_state_rejected_total',
      help: 'Values read back from the shared state that failed their seal (forged, or sealed with another secret) and were ignored, by cache.',
      type: 'counter',
      samples: [kpi.counts, kpi.tokenOwners, kpi.boundaries].map((cache) => ({ labels: { cache: cache.namespace }, value: cache.rejected })),
    },
    {
      name: 'kpi_shared_state_fallbacks_total',
      help: "Calls answered from this process's memory because the shared state (Redis) did not answer.",
      type: 'counter',
      samples: [{ value: state.describe().fallbacks }],
    },
    {
      name: 'kpi_shared_state_timeouts_total',
      help: 'Shared state (Redis) commands that waited their whole timeout (REDIS_COMMAND_TIMEOUT_MS); each opened the breaker.',
      type: 'counter',
      samples: [{ value: state.describe().timeouts }],
    },
    {
      name: 'kpi_shared_state_info',
      help: 'What backs the shared state now: memory, redis, or memory while redis is unavailable.',
      type: 'gauge',
      samples: [{ labels: { backend: state.describe().backend }, value: 1 }],
    },
    ...(connection.poolStats ? poolFamilies(connection.poolStats()) : []),
  ])

  return new Elysia({ normalize: false })
    .onError(({ code, error, request }) => {
      const known = toApiError(code, error, connection)
      const id = factsOf(request).id
      if (known instanceof ServiceUnavailableError) logError(`database unavailable (request ${id ?? '-'})`, errorText(known.cause ?? error))
      if (known instanceof ServiceBusyError) {
        const cause = known.cause ?? error
        log({ level: 'warn', message: `database pool saturated: ${cause instanceof Error ? cause.message : String(cause)}`, request_id: id, pool: connection.poolStats?.() })
      }
      if (known instanceof DatabaseMisconfiguredError) {
        logError(`database refuses the connection: a configuration problem, not an outage (request ${id ?? '-'})`, errorText(known.cause ?? error))
      }
      if (known) return json(known.status, known.toBody(), known.headers)
      // Our own defect: logged with its cause, answered without internals.
      logError(`unhandled error on ${request.method} ${new URL(request.url).pathname} (request ${id ?? '-'})`, errorText(error))
      return json(500, { error: 'Internal server error' })
    })
    .use(
      swaggerDocs({
        title: API_TITLE,
        version: packageJson.version,
        description:
          'Internal endpoint for VBET KPI analysis. Returns paginated conversation data scoped to VBET accounts. ' +
          'Authorize with the KPI tracker\'s api_access_token, then try GET /api/v1/kpi/conversations.',
        document: {
          operations: {
            [`GET ${CONVERSATIONS_PATH}`]: CONVERSATIONS_RESPONSES,
            [`GET ${CHANGES_PATH}`]: CHANGES_RESPONSES,
            [`GET ${CONVERSATION_METRICS_PATH}`]: CONVERSATION_METRICS_RESPONSES,
            'GET /health': HEALTH_RESPONSES,
            'GET /ready': READY_RESPONSES,
          },
          headers: RESPONSE_HEADERS,
          integerParameters: [...new Set([...INTEGER_PARAMETERS, ...CHANGES_INTEGER_PARAMETERS])],
          parameters: { [`GET ${CONVERSATIONS_PATH}`]: CONVERSATIONS_HEADER_PARAMETERS, [`GET ${CONVERSATION_METRICS_PATH}`]: CONVERSATIONS_HEADER_PARAMETERS },
        },
      }),
    )
    .use(healthRoutes(connection, state))
    .use(conversationsRoutes(kpi))
    .use(
      changesRoutes({
        ...kpi,
        capture,
        feedClock: deps.feedClock,
        changesLagSeconds: deps.config.changesLagSeconds ?? DEFAULT_CHANGES_LAG_SECONDS,
        changesRetentionDays: deps.config.changesRetentionDays ?? DEFAULT_CHANGES_RETENTION_DAYS,
      }),
    )
    .use(conversationMetricsRoutes(kpi))
    .use(dashboardRoutes())
}

export type App = ReturnType<typeof createApp>

/** The pool's gauges and its saturation counters, for /metrics. */
function poolFamilies(stats: PoolStats): MetricFamily[] {
  return [
    {
      name: 'kpi_db_pool_connections',
      help: 'Database pool connections: open (total), idle, busy (checked out), requests waiting for one, the pool size (max), those held by streamed exports (exports) of their share (export_share); saturated is 1 while every connection works and requests wait.',
      type: 'gauge',
      samples: Object.entries({ total: stats.total, idle: stats.idle, busy: stats.busy, waiting: stats.waiting, max: stats.max, exports: stats.exports, export_share: stats.exportShare, saturated: Number(stats.saturated) }).map(
        ([state, value]) => ({ labels: { state }, value }),
      ),
    },
    {
      name: 'kpi_db_pool_saturation_total',
      help: 'Requests refused for want of a connection while the database answered: a wait that ended with every connection working (pool), an export past its share (exports).',
      type: 'counter',
      samples: [
        { labels: { reason: 'pool' }, value: stats.saturations },
        { labels: { reason: 'exports' }, value: stats.exportsRefused },
      ],
    },
    {
      name: 'kpi_db_pool_dropped_total',
      help: 'Connections dropped because a streamed read (or its close) got no answer within DB_STATEMENT_TIMEOUT_MS and a second; the export resumed on a new one.',
      type: 'counter',
      samples: [{ value: stats.dropped }],
    },
  ]
}

function toApiError(code: string | number, error: unknown, connection: Connection): ApiError | undefined {
  if (error instanceof ApiError) return error
  if (code === 'NOT_FOUND') return new NotFoundError()
  if (code === 'VALIDATION') {
    const validation = error as { type?: string; valueError?: { path?: string } }
    // A response that fails its own schema is our defect (500), not the caller's.
    if (validation.type !== 'query') return undefined
    const name = validation.valueError?.path?.replace(/^\//, '') ?? ''
    return new ValidationError(PARAMETER_RULES[name as keyof typeof PARAMETER_RULES] ?? 'invalid query parameter')
  }
  if (code === 'PARSE') return new ValidationError('the request could not be parsed')
  if (connection.dialect.isMisconfigured(error)) return new DatabaseMisconfiguredError({ cause: error })
  // Before isUnavailable: the wait's own timeout is its cause, and would read as the database away.
  if (connection.dialect.isSaturated(error)) return new ServiceBusyError(undefined, { cause: error })
  if (connection.dialect.isUnavailable(error)) return new ServiceUnavailableError(undefined, { cause: error })
  return undefined
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } })
}
