// Configuration: read from the environment once at start, validated, frozen, and passed in.
// Nothing else in the service reads process.env. Every problem is reported at once, by variable name.
import { resolve } from 'node:path'
import type { PoolMode } from './db/postgres-pool.ts'
import { defaultExportConnections } from './db/pool-share.ts'
import { ConfigError } from './errors.ts'

export const DEFAULT_KPI_TRACKER_EMAIL = 'kpi_tracker@vbet.com'

/**
 * The demo's SQLite database, used (and created with demo data) when DATABASE_URL is unset and the
 * demo is asked for: `data/kpi-conversations.sqlite` in the current directory (`npm start` runs in
 * the project's root). Not beside the code: inside the compiled executable that is read-only.
 */
export const DEFAULT_SQLITE_FILE = resolve('data', 'kpi-conversations.sqlite')

export type DatabaseConfig = SqliteConfig | PostgresConfig

export interface SqliteConfig {
  readonly dialect: 'sqlite'
  /** A file path, or ':memory:'. */
  readonly filename: string
  /** True when DATABASE_URL is unset (the demo's file): the only database the start script may create and seed. */
  readonly isEmbeddedDefault: boolean
}

export interface PostgresConfig {
  readonly dialect: 'postgres'
  readonly url: string
  readonly poolSize: number
  readonly connectTimeoutMs: number
  readonly statementTimeoutMs: number
  /**
   * `session` (direct, or a session pooler): read-only and the timeout are set at connection start.
   * `transaction` (PgBouncer's transaction pooling): no startup parameters; set in every statement's transaction.
   * Session when absent.
   */
  readonly poolMode?: PoolMode
  /** Connections streamed exports may hold at once (DB_EXPORT_CONNECTIONS); half the pool when absent. */
  readonly exportConnections?: number
}

export interface Config {
  readonly database: DatabaseConfig
  readonly host: string
  readonly port: number
  /**
   * The operators' listener: /metrics (which the API's port no longer serves), /health and /ready.
   * Loopback by default: a scraper on the host, or a sidecar, reads it; clients never reach it.
   */
  readonly adminHost: string
  readonly adminPort: number
  /**
   * Share the port with other processes that ask for it too (SO_REUSEPORT: the kernel spreads
   * connections over them). Off: a port in use is an error, as a second copy started by mistake
   * would otherwise take part of the traffic.
   */
  readonly reusePort: boolean
  /** The one user whose token may read the endpoint; compared case-insensitively. */
  readonly kpiTrackerEmail: string
  /** How long an items_count is reused for the same accounts and range (0: never). */
  readonly countCacheTtlMs: number
  /** How long a token's owner is remembered, found or not (0: never). */
  readonly tokenCacheTtlMs: number
  /** How long the end of a served page is kept to start the next page from (0: never). */
  readonly pageBoundaryTtlMs: number
  /** Signs pagination cursors; unset: a random secret for this process (cursors die with it). */
  readonly cursorSecret: string | undefined
  /** Requests a minute one token may make to the API (0: no limit). */
  readonly rateLimitPerMinute: number
  /** Failed authentications a minute from one client address before it gets 429 (0: no limit). */
  readonly authFailuresPerMinute: number
  /** How long a stop waits for requests in flight (streams included) before it cuts them. */
  readonly shutdownGraceMs: number
  /** A streamed export whose client takes nothing for this long is cut (its connection and pool share freed). */
  readonly exportWriteTimeoutMs: number
  /**
   * A synchronous full collection of the heap every this many ms (0: off, the default): for a
   * container with a memory limit, resident memory then stays near the live heap under load, at
   * some throughput (BENCHMARKS.md).
   */
  readonly gcIntervalMs: number
  /** Redis for the state instances share (rate limits, caches, page ends); unset: this process's memory. */
  readonly redisUrl: string | undefined
  /** A Redis command without an answer within this many ms opens the breaker: memory until Redis answers a probe again. */
  readonly redisCommandTimeoutMs: number
  /** The changes feed holds back rows updated less than this many seconds ago (late commits; plain mode). */
  readonly changesLagSeconds: number
  /** An exact changes-feed cursor older than this many days is 410 (the change capture prunes its log). */
  readonly changesRetentionDays: number
}

/** The admin listener's port (OpenTelemetry's default for a Prometheus endpoint): the metrics' own, off the API's. */
export const DEFAULT_ADMIN_PORT = 9464
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30
export const DEFAULT_CHANGES_LAG_SECONDS = 60
export const DEFAULT_CHANGES_RETENTION_DAYS = 30
/** A client that reads nothing of an export for this long has stopped reading: it is cut. */
export const DEFAULT_EXPORT_WRITE_TIMEOUT_MS = 30_000
/** Under the 30 s an orchestrator usually grants between SIGTERM and SIGKILL. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000
export const DEFAULT_PAGE_BOUNDARY_TTL_MS = 60_000

/** A Redis on the same network answers in well under a millisecond; a hung one should cost a request no more than this, once. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 50

export const DEFAULT_COUNT_CACHE_TTL_MS = 10_000
export const DEFAULT_TOKEN_CACHE_TTL_MS = 5_000

export type Env = Record<string, string | undefined>

/**
 * Reads and validates the configuration.
 * @throws {ConfigError} naming every variable that is wrong and what it must be.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = []
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim()
    if (raw === undefined || raw === '') return fallback
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`)
      return fallback
    }
    return Number(raw)
  }

  const port = int('PORT', 3000, 0, 65535)
  const reusePortText = env.REUSE_PORT?.trim() || '0'
  if (!['0', '1', 'false', 'true'].includes(reusePortText)) {
    problems.push(`REUSE_PORT must be 1 (share the port with other processes that ask for it) or 0 (got "${reusePortText}")`)
  }
  const reusePort = reusePortText === '1' || reusePortText === 'true'
  const host = env.HOST?.trim() || '127.0.0.1'
  const adminPort = int('ADMIN_PORT', DEFAULT_ADMIN_PORT, 0, 65535)
  const adminHost = env.ADMIN_HOST?.trim() || '127.0.0.1'
  if (adminPort !== 0 && adminPort === port) problems.push(`ADMIN_PORT must differ from PORT (both are ${port}): the metrics have a listener of their own`)
  const email = env.KPI_TRACKER_EMAIL?.trim() || DEFAULT_KPI_TRACKER_EMAIL
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) problems.push(`KPI_TRACKER_EMAIL must be an email address (got "${email}")`)

  const poolSize = int('DB_POOL_SIZE', 10, 1, 1000)
  const connectTimeoutMs = int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000)
  const statementTimeoutMs = int('DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 3_600_000)
  const poolModeText = env.DB_POOL_MODE?.trim() || 'session'
  if (poolModeText !== 'session' && poolModeText !== 'transaction') problems.push(`DB_POOL_MODE must be session or transaction (got "${poolModeText}")`)
  const poolMode: PoolMode = poolModeText === 'transaction' ? 'transaction' : 'session'
  // At most all but one: pages always have a connection (a pool of one has nothing to keep back).
  const exportConnections = int('DB_EXPORT_CONNECTIONS', defaultExportConnections(poolSize), 1, Math.max(1, poolSize - 1))
  const exportWriteTimeoutMs = int('EXPORT_WRITE_TIMEOUT_MS', DEFAULT_EXPORT_WRITE_TIMEOUT_MS, 100, 3_600_000)
  const countCacheTtlMs = int('COUNT_CACHE_TTL_MS', DEFAULT_COUNT_CACHE_TTL_MS, 0, 3_600_000)
  const tokenCacheTtlMs = int('TOKEN_CACHE_TTL_MS', DEFAULT_TOKEN_CACHE_TTL_MS, 0, 600_000)
  const pageBoundaryTtlMs = int('PAGE_BOUNDARY_TTL_MS', DEFAULT_PAGE_BOUNDARY_TTL_MS, 0, 3_600_000)
  const cursorSecret = env.CURSOR_SECRET || undefined
  // A short secret is guessable, and a guessed secret forges cursors.
  if (cursorSecret !== undefined && cursorSecret.length < 32) problems.push('CURSOR_SECRET must be at least 32 characters (it signs pagination cursors)')
  const rateLimitPerMinute = int('RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_LIMIT_PER_MINUTE, 0, 10_000_000)
  const authFailuresPerMinute = int('AUTH_FAILURES_PER_MINUTE', DEFAULT_AUTH_FAILURES_PER_MINUTE, 0, 10_000_000)
  const shutdownGraceMs = int('SHUTDOWN_GRACE_MS', DEFAULT_SHUTDOWN_GRACE_MS, 0, 3_600_000)
  const gcIntervalMs = (() => {
    const raw = env.GC_INTERVAL_MS?.trim()
    if (raw === undefined || raw === '' || raw === '0') return 0
    if (!/^\d+$/.test(raw) || Number(raw) < 100 || Number(raw) > 600_000) {
      problems.push(`GC_INTERVAL_MS must be 0 (off) or an integer from 100 to 600000 (got "${raw}")`)
      return 0
    }
    return Number(raw)
  })()
  const changesLagSeconds = int('CHANGES_LAG_SECONDS', DEFAULT_CHANGES_LAG_SECONDS, 0, 86_400)
  const changesRetentionDays = (() => {
    const raw = env.CHANGES_RETENTION_DAYS?.trim()
    if (raw === undefined || raw === '') return DEFAULT_CHANGES_RETENTION_DAYS
    // Fractions allowed (0.5: twelve hours), as the capture's --retention-days.
    if (!/^\d+(\.\d+)?$/.test(raw) || !(Number(raw) > 0) || Number(raw) > 36_500) {
      problems.push(`CHANGES_RETENTION_DAYS must be a number of days above 0, at most 36500, fractions allowed (got "${raw}")`)
      return DEFAULT_CHANGES_RETENTION_DAYS
    }
    return Number(raw)
  })()
  const redisUrl = env.REDIS_URL?.trim() || undefined
  const redisCommandTimeoutMs = int('REDIS_COMMAND_TIMEOUT_MS', DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 1, 10_000)
  // The URL may carry a password: never echo it.
  if (redisUrl !== undefined && !/^rediss?:\/\/[^/\s]+/i.test(redisUrl)) problems.push('REDIS_URL must be a redis:// or rediss:// URL')

  let database: DatabaseConfig
  try {
    database = parseDatabaseUrl(env.DATABASE_URL, { poolSize, connectTimeoutMs, statementTimeoutMs, poolMode, exportConnections })
  } catch (error) {
    problems.push((error as Error).message)
    database = { dialect: 'sqlite', filename: DEFAULT_SQLITE_FILE, isEmbeddedDefault: true }
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({ database: Object.freeze(database), host, port, adminHost, adminPort, reusePort, kpiTrackerEmail: email, countCacheTtlMs, tokenCacheTtlMs, pageBoundaryTtlMs, cursorSecret, rateLimitPerMinute, authFailuresPerMinute, shutdownGraceMs, exportWriteTimeoutMs, gcIntervalMs, redisUrl, redisCommandTimeoutMs, changesLagSeconds, changesRetentionDays })
}

/**
 * `postgres://` or `postgresql://` selects PostgreSQL; `sqlite:<path>`, `sqlite::memory:` or a bare
 * file path selects SQLite; unset selects the embedded default file.
 */
export function parseDatabaseUrl(
  value: string | undefined,
  pool: Pick<PostgresConfig, 'poolSize' | 'connectTimeoutMs' | 'statementTimeoutMs'> & Partial<Pick<PostgresConfig, 'poolMode' | 'exportConnections'>>,
): DatabaseConfig {
  const raw = value?.trim()
  if (!raw) return { dialect: 'sqlite', filename: DEFAULT_SQLITE_FILE, isEmbeddedDefault: true }
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    try {
      new URL(raw)
    } catch {
      // The URL carries a password: never echo it.
      throw new Error('DATABASE_URL is not a valid postgres:// URL')
    }
    return { dialect: 'postgres', url: raw, ...pool }
  }
  if (/^sqlite:/i.test(raw)) {
    const rest = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (rest === '') throw new Error('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:./data/kpi.sqlite')
    return { dialect: 'sqlite', filename: rest, isEmbeddedDefault: false }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new Error('DATABASE_URL must be a postgres:// URL, a sqlite: URL or a SQLite file path')
  }
  return { dialect: 'sqlite', filename: raw, isEmbeddedDefault: false }
}

/** For logs: the database without its credentials. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.dialect === 'sqlite') return `sqlite:${database.filename}`
  const url = new URL(database.url)
  return `postgres://${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`
}
