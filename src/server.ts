// Starts the service from a configuration: opens the database read-only, builds the app, listens,
// and stops gracefully: stop accepting, let in-flight requests finish (within a grace period), close the pool.
import { existsSync } from 'node:fs'
import { createApp } from './app.ts'
import { describeDatabase, type Config } from './config.ts'
import { openDatabase, type Connection } from './db/dialect.ts'
import { ConfigError } from './errors.ts'
import { readCaptureStatus } from './sync/capture.ts'
import { createHandler, lastResortResponse, type LogLine } from './http.ts'
import { createAdminApp, createAdminHandler } from './ops/admin.ts'
import { Metrics } from './ops/metrics.ts'
import { RateLimiter } from './ops/rate-limit.ts'
import { InFlight } from './ops/in-flight.ts'
import { startCollector } from './ops/collector.ts'
import { RedisState } from './state/redis-state.ts'
import { MemoryState, type SharedState } from './state/shared-state.ts'

export interface RunningService {
  readonly url: string
  /** The admin listener: /metrics, /health, /ready (ADMIN_HOST:ADMIN_PORT). */
  readonly adminUrl: string
  stop(): Promise<void>
}

const writeLine = (line: LogLine) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`)

/** Another process listens on the address, and sharing it (REUSE_PORT) was not asked for. */
export class AddressInUseError extends Error {
  constructor(host: string, port: number, options?: { cause?: unknown; setting?: 'PORT' | 'ADMIN_PORT' }) {
    super(
      `address already in use: ${host.includes(':') ? `[${host}]` : host}:${port} has another listener. Stop it, choose another ${options?.setting ?? 'PORT'}, ` +
        'or set REUSE_PORT=1 here and there to share the port on purpose.',
      options,
    )
    this.name = 'AddressInUseError'
  }
}

/**
 * @throws when the configured SQLite file does not exist (the service never creates a database).
 * @throws {AddressInUseError} when another process listens on HOST:PORT and REUSE_PORT is off.
 */
export async function startServer(config: Config): Promise<RunningService> {
  const { database } = config
  if (database.dialect === 'sqlite' && database.filename !== ':memory:' && !existsSync(database.filename)) {
    throw new Error(
      `SQLite database ${database.filename} does not exist. The service only reads; create one with ` +
        '`bun scripts/migrate.ts` and `bun scripts/seed.ts`, or leave DATABASE_URL unset and start with --demo (as `npm start` does) for the demo.',
    )
  }
  // A problem of the deployment the database layer works around (statements run where they were
  // never prepared: a transaction pooler in session mode) is logged once, as a warning.
  const connection = openDatabase(database, { readonly: true, onWarning: (message) => writeLine({ level: 'warn', message }) })
  await refuseLongerRetention(connection, config).catch(async (error: unknown) => {
    await connection.destroy()
    throw error
  })
  const collector = startCollector(config.gcIntervalMs)
  const metrics = new Metrics()
  // The one place that chooses where shared state lives: Redis for several instances, else memory.
  const state: SharedState = config.redisUrl
    ? new RedisState({ url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeoutMs, log: writeLine })
    : new MemoryState()
  // The first connection is opened (or has failed, then the probe carries on) before the first request.
  if (state instanceof RedisState) await state.ready()
  const app = createApp({
    connection,
    config,
    metrics,
    state,
    logError: (message, error) => writeLine({ level: 'error', message, error: String(error) }),
    log: writeLine,
  })
  let draining = false
  const inFlight = new InFlight()
  const handle = createHandler({
    app,
    rateLimiter: new RateLimiter({ limit: config.rateLimitPerMinute, state, name: 'requests' }),
    authFailures: new RateLimiter({ limit: config.authFailuresPerMinute, state, name: 'auth-failures' }),
    log: writeLine,
    metrics,
    draining: () => draining,
    inFlight,
    writeTimeoutMs: config.exportWriteTimeoutMs,
  })
  const admin = createAdminHandler(createAdminApp({ connection, state, metrics, logError: (message, error) => writeLine({ level: 'error', message, error: String(error) }) }))
  type Listener = ReturnType<typeof Bun.serve>
  let api: Listener | undefined
  let listening = { host: config.host, port: config.port, setting: 'PORT' as 'PORT' | 'ADMIN_PORT' }
  let server: Listener
  let adminServer: Listener
  try {
    server = api = Bun.serve({
      hostname: config.host,
      port: config.port,
      // Said explicitly: with development off, Bun's default is to share the port (SO_REUSEPORT),
      // and a second copy started by mistake would silently take part of the traffic.
      reusePort: config.reusePort,
      fetch: handle,
      // Whatever NODE_ENV says: never Bun's HTML error page (source lines, paths) to a client.
      development: false,
      error: lastResortResponse,
      idleTimeout: 60,
    })
    listening = { host: config.adminHost, port: config.adminPort, setting: 'ADMIN_PORT' }
    adminServer = Bun.serve({
      hostname: config.adminHost,
      port: config.adminPort,
      reusePort: config.reusePort,
      fetch: admin,
      development: false,
      error: lastResortResponse,
      idleTimeout: 60,
    })
  } catch (error) {
    // The API's listener started, the admin's did not: nothing may stay open.
    api?.stop(true)
    collector.stop()
    await connection.destroy()
    await state.close()
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new AddressInUseError(listening.host, listening.port, { cause: error, setting: listening.setting })
    throw error
  }
  const origin = (host: string, port: number | undefined) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const url = origin(config.host, server.port)
  const adminUrl = origin(config.adminHost, adminServer.port)
  writeLine({ level: 'info', message: 'listening', url, admin_url: adminUrl, database: describeDatabase(database), shared_state: config.redisUrl ? 'redis' : 'memory' })
  if (config.redisUrl && config.cursorSecret === undefined) {
    writeLine({
      level: 'warn',
      message:
        'REDIS_URL without CURSOR_SECRET: what this instance stores in Redis is sealed with a random secret of this process, so other ' +
        'instances (and this one after a restart) ignore it, and rate limits are the only state really shared. Set CURSOR_SECRET, the same on every instance.',
    })
  }
  if (database.dialect === 'postgres' && config.cursorSecret === undefined) {
    writeLine({
      level: 'warn',
      message:
        'CURSOR_SECRET is not set: cursors are signed with a random secret of this process, so a cursor walk breaks (422) at a restart ' +
        'and on any other instance behind a load balancer. Set CURSOR_SECRET (32+ characters), the same on every instance.',
    })
  }

  let stopping: Promise<void> | undefined
  return {
    url,
    adminUrl,
    stop: () =>
      (stopping ??= (async () => {
        draining = true
        writeLine({ level: 'info', message: 'stopping: no new connections, waiting for requests in flight', grace_ms: config.shutdownGraceMs })
        // Stops accepting and closes idle connections; then waits for the requests in flight,
        // streamed exports to their last byte. A client that stopped reading would hold its
        // stream open for ever: past the grace, what is still open is cut.
        const stopped = server.stop()
        const drained = Promise.all([stopped, inFlight.idle()]).then(() => true)
        const inTime = await Promise.race([drained, Bun.sleep(config.shutdownGraceMs).then(() => false)])
        if (!inTime) {
          writeLine({ level: 'warn', message: 'grace period over: closing the connections still open', in_flight: inFlight.count })
          // Each export still streaming is cut first, so that its line says why.
          inFlight.cutAll('shutdown')
          await server.stop(true)
        }
        // The metrics stay readable while the API drains.
        await adminServer.stop(true)
        collector.stop()
        await connection.destroy()
        await state.close()
        writeLine({ level: 'info', message: 'stopped' })
      })()),
  }
}

/**
 * An exact changes-feed cursor must not outlive the log entries it needs: a CHANGES_RETENTION_DAYS
 * longer than the change capture keeps its log is a configuration error, when the capture can be
 * read at start (a database that does not answer yet is checked by the feed itself later).
 * @throws {ConfigError} naming both retentions.
 */
async function refuseLongerRetention(connection: Connection, config: Config): Promise<void> {
  const capture = await readCaptureStatus(connection).catch(() => undefined)
  if (capture?.readable && capture.retentionDays !== undefined && config.changesRetentionDays > capture.retentionDays) {
    throw new ConfigError([
      `CHANGES_RETENTION_DAYS (${config.changesRetentionDays}) is longer than the change capture keeps its log (${capture.retentionDays} days): ` +
        'set it to at most that, or install the capture again with a longer --retention-days',
    ])
  }
}

/**
 * SIGTERM and SIGINT stop the service gracefully, then the process exits 0. A signal that comes
 * again while it stops changes nothing: Ctrl-C under `npm start` arrives twice (from the terminal,
 * to the whole foreground group, and forwarded by npm), and the second must not cut what the first
 * lets finish; SHUTDOWN_GRACE_MS bounds the stop anyway.
 */
export function stopOnSignals(service: RunningService): void {
  const stop = async () => {
    await service.stop()
    process.exit(0)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop())
}
