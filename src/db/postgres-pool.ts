// How the service's PostgreSQL statements run, whatever sits between it and the server:
// - directly (or behind a session pooler), the session is set up once at connection start
//   (read-only, statement_timeout as startup parameters);
// - behind a transaction pooler (PgBouncer's pool_mode = transaction, which rejects unknown startup
//   parameters and hands each transaction to any server connection), every statement runs in a
//   transaction of its own that sets both: `BEGIN READ ONLY; SET LOCAL statement_timeout`.
// In session mode each statement text is a named prepared statement, prepared once per connection:
// the server then skips parsing and, once it settles on a generic plan, planning (the page's union
// of per-account scans cost more to plan than to run). Behind a transaction pooler statements stay
// unnamed: the next transaction may run on a server connection that never saw the preparation.
// Should a statement be missing all the same (a transaction pooler told to ignore the startup
// parameters, with DB_POOL_MODE left at session), it runs again unnamed, and so does every
// statement after it; a name is the hash of its text, so a name another instance prepared on a
// shared server connection always stands for the same statement.
// And on a hot standby a statement may be cancelled by a conflict with recovery (the primary
// vacuumed or locked what it read): it is retried, a few times, with a growing pause. Every
// statement of the service is a read on its own, so running it again is always safe.
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely'
import pg from 'pg'

/** `session`: settings at connection start. `transaction`: settings in every statement's own transaction. */
export type PoolMode = 'session' | 'transaction'

export interface SessionSettings {
  readonly mode: PoolMode
  readonly readonly: boolean
  readonly statementTimeoutMs: number
}

/**
 * A wait for a pool connection that timed out while every connection was checked out and the
 * database had answered within that wait: the service has more work than connections (saturated),
 * the database is not away. Answered 503 "busy", logged and counted as saturation.
 */
export class PoolSaturatedError extends Error {
  constructor(max: number, options?: { cause?: unknown }) {
    super(`every database connection of the pool (${max}) was in use for the whole wait`, options)
    this.name = 'PoolSaturatedError'
  }
}

/** How the pool is used, for /metrics and /ready: connections checked out now, waits that ended saturated, when the database last answered. */
export interface PoolPressure {
  checkedOut: number
  saturations: number
  /** performance.now() of the database's last answer (a statement, a streamed read); 0 before any. */
  lastAnswer: number
  /** Connections dropped because a streamed read or its close got no answer within the read deadline. */
  dropped: number
}

/** Pauses before the retries of a statement cancelled by a recovery conflict. */
export const RECOVERY_CONFLICT_BACKOFF_MS = [50, 200, 800] as const

/** SQLSTATE 40001 with this message: a standby cancelled the statement to apply WAL. */
export function isRecoveryConflict(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === '40001' && /conflict with recovery/i.test(String(message))
}

/** What Kysely's stream() hands the pool client: a pg-cursor, read and closed by its caller. */
interface Submittable extends pg.Submittable {
  read(rows: number): Promise<unknown[]>
  close(): Promise<void>
}

function isSubmittable(query: unknown): query is Submittable {
  return typeof query === 'object' && query !== null && typeof (query as Partial<Submittable>).submit === 'function'
}

/**
 * Closes a cursor, unless its connection is gone (a restart, a failover): pg-cursor's close() then
 * waits for an answer that never comes. True when the connection is gone.
 */
async function closedOrGone(client: pg.PoolClient, close: () => Promise<void>): Promise<boolean> {
  if (isGone(client)) return true
  let onGone!: () => void
  const gone = new Promise<true>((resolve) => (onGone = () => resolve(true)))
  client.once('end', onGone).once('error', onGone)
  try {
    return await Promise.race([close().then(() => false), gone])
  } finally {
    client.off('end', onGone).off('error', onGone)
  }
}

/** A cursor the server failed (pg-cursor's own state): its portal is gone with the error. */
function isFailed(cursor: Submittable): boolean {
  return (cursor as unknown as { state?: string }).state === 'error'
}

/** A client whose connection ended or failed (pg's own flags: it answers "not queryable" then). */
function isGone(client: pg.PoolClient): boolean {
  const flags = client as unknown as { _ended?: boolean; _queryable?: boolean }
  return flags._ended === true || flags._queryable === false
}

/**
 * The server's answer to a prepared statement whose result no longer matches the table (a column's
 * type changed under it, e.g. by a migration of the helpdesk): prepared again on a new connection.
 */
function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === '0A000' && /cached plan must not change result type/i.test(String(message))
}

/**
 * SQLSTATE 26000 (the server connection has no prepared statement of that name) or 42P05 (it has
 * one already, prepared by another client): statements land on server connections this client did
 * not prepare them on.
 */
function isMisroutedStatement(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return code === '26000' || code === '42P05'
}

/**
 * Names for statement texts, shared by the pool's connections (each prepares a name on first use):
 * `kpi_` and a hash of the text. The service's texts are a few dozen (lists are bound as one array
 * parameter, whatever their length; the page's merge has one shape per allowlist size); past
 * MAX_PREPARED_TEXTS distinct texts the rest run unnamed, which bounds the plans each server
 * connection keeps.
 */
const MAX_PREPARED_TEXTS = 200

function statementNames(): (text: string) => string | undefined {
  const names = new Map<string, string>()
  return (text) => {
    let name = names.get(text)
    if (name === undefined && names.size < MAX_PREPARED_TEXTS) {
      name = `kpi_${new Bun.CryptoHasher('sha256').update(text).digest('hex').slice(0, 32)}`
      names.set(text, name)
    }
    return name
  }
}

/** What the service logs when statements land where they were never prepared. */
export const MISSING_STATEMENT_WARNING =
  'A prepared statement was missing on its server connection, or already there: a transaction pooler (PgBouncer pool_mode = transaction) with ' +
  'DB_POOL_MODE=session. Statements now run unnamed; the pooler also drops the session settings (read-only, statement_timeout): ' +
  'set DB_POOL_MODE=transaction.'

/** Ends a client's connection at once (its socket destroyed): pg then fails what waits on it and marks it gone. */
function dropConnection(client: pg.PoolClient): void {
  ;(client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
}

/**
 * `work`, or after `ms` without an answer a failure pg's word for a timeout (unavailable: an export
 * resumes on a new statement), `onTimeout` run first.
 */
function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(new Error(`Query read timeout: a streamed read had no answer within ${ms} ms`))
    }, ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

/** pg's word for a client whose connection is gone (it was ended while idle, or mid-statement). */
function isDeadConnection(error: unknown): boolean {
  return /not queryable|Connection terminated/i.test(String((error as Error | undefined)?.message ?? ''))
}

/**
 * The pg pool options that set the session up at connection start (session mode only;
 * statementPool's BEGIN sets the same per transaction).
 *
 * The service's statements run without JIT compilation (`jit = off`, in both modes). Its statements
 * are reads of a page, a stream, or the metrics' one aggregate; the planner compiles once a
 * statement's estimated cost passes jit_above_cost, which the metrics of a long range do: there
 * the compilation of their long expressions (reading resolved_time in SQL) took 1.5 s of a 5 s
 * statement (1,000,000 conversations, a year by day and account: 4.3 s of the backend's CPU with
 * it, 2.6 s without), and it never paid for itself in what it compiled. Results are the same either way.
 */
export function startupSettings(settings: SessionSettings): pg.PoolConfig {
  if (settings.mode === 'transaction') return {}
  return {
    // The server cancels a statement past this (answered 503).
    statement_timeout: settings.statementTimeoutMs,
    // A read-only service session: any write would fail on the server, whatever the code did. And
    // no JIT (see above).
    options: `${settings.readonly ? '-c default_transaction_read_only=on ' : ''}-c jit=off`,
  }
}

/** `pool`, for Kysely, with each statement run as `settings` say and retried after a recovery conflict. */
export function statementPool(
  pool: pg.Pool,
  settings: SessionSettings,
  onWarning: (message: string) => void = () => {},
  pressure: PoolPressure = { checkedOut: 0, saturations: 0, lastAnswer: 0, dropped: 0 },
): PostgresPool {
  const max = pool.options.max ?? 10
  // When the database last answered anything (a statement, a streamed read): a wait that timed out
  // after it answered during the wait, with every connection checked out, is saturation; without
  // an answer, the database itself is slow or away.
  const answered = <T>(result: T): T => {
    pressure.lastAnswer = performance.now()
    return result
  }
  const acquire = async (): Promise<pg.PoolClient> => {
    const waited = performance.now()
    try {
      const client = await pool.connect()
      pressure.checkedOut++
      return client
    } catch (error) {
      const timedOut = /timeout exceeded when trying to connect/.test(String((error as Error | undefined)?.message))
      if (timedOut && pressure.checkedOut >= max && pressure.lastAnswer >= waited) {
        pressure.saturations++
        throw new PoolSaturatedError(max, { cause: error })
      }
      throw error
    }
  }
  const giveBack = (client: pg.PoolClient, destroy: boolean) => {
    pressure.checkedOut--
    client.release(destroy)
  }
  // One simple-protocol round trip opens the transaction and sets its timeout.
  const begin = `begin${settings.readonly ? ' read only' : ''}; set local statement_timeout = ${Math.floor(settings.statementTimeoutMs)}; set local jit = off`
  // A streamed read (Kysely's stream(): a pg-cursor portal read in chunks as the caller consumes
  // them) is handed over as it is, synchronously, as Kysely calls it: no retry (what it returned
  // cannot be taken back; the caller resumes after its last row). Behind a transaction pooler it
  // runs inside the same read-only transaction with its timeout (pg runs a client's queries in
  // order: the BEGIN queued first opens it), committed when the cursor is closed.
  /** Connections whose streamed read the server failed: not given back to the pool (see submit's close). */
  const failedOn = new WeakSet<pg.PoolClient>()
  const submit = (client: pg.PoolClient, cursor: Submittable): Submittable => {
    if (settings.mode === 'transaction') client.query(begin).catch(() => {}) // its failure fails the cursor too
    const submitted = client.query(cursor)
    // A read that neither answers nor fails would hold its export for ever (seen behind PgBouncer
    // while a standby ended server connections for recovery conflicts: no rows, no error, no
    // close, and pg-cursor no longer answers a read once it counts itself done). Past the
    // statement timeout and a second, as pg's own query_timeout, the connection is dropped and the
    // read fails as unavailable: the export resumes on a new statement after the last row sent.
    // The same for the close, which waits for the server's ReadyForQuery: a connection that went
    // silent is dropped, as one that is gone.
    const deadline = settings.statementTimeoutMs + 1000
    const read = submitted.read.bind(submitted)
    const silent = () => {
      pressure.dropped++
      dropConnection(client)
    }
    submitted.read = (rows) => withDeadline(read(rows), deadline, silent).then(answered)
    const close = submitted.close.bind(submitted)
    submitted.close = async () => {
      // A portal the server failed (the statement timeout fires on a portal left suspended while a
      // client stopped reading) is not closed, and its connection is not used again: pg-cursor's
      // close() waits for a ReadyForQuery that may have come and gone (pg hands it to no query once
      // one failed), which held the export's connection until the deadline below (16 s by default)
      // on every resume after a statement timeout; and a connection given back before that
      // ReadyForQuery arrives hands it to the next cursor, which then reads no row: an export that
      // ends early, looking complete (both seen here). A new connection costs a few ms.
      if (isFailed(submitted)) {
        failedOn.add(client)
        return
      }
      const gone = await withDeadline(closedOrGone(client, close), deadline, silent).catch(() => true)
      if (gone) return
      // After a failed statement the transaction is aborted: commit then rolls it back.
      if (settings.mode === 'transaction') await client.query('commit').catch(() => {})
    }
    return submitted
  }
  const nameOf = statementNames()
  // Session mode names its statements until one goes missing (see the top of this file).
  let named = settings.mode === 'session'
  const once = async <R>(client: pg.PoolClient, text: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>> => {
    if (settings.mode === 'session') {
      return answered(await client.query({ name: named ? nameOf(text) : undefined, text, values: values as unknown[] })) as unknown as PostgresQueryResult<R>
    }
    await client.query(begin)
    try {
      const result = await client.query(text, values as unknown[])
      await client.query('commit')
      return answered(result) as unknown as PostgresQueryResult<R>
    } catch (error) {
      await client.query('rollback').catch(() => {})
      throw error
    }
  }
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect(): Promise<PostgresPoolClient> {
      // Undefined once given back: a reconnect that failed leaves nothing to release.
      let client: pg.PoolClient | undefined = await acquire()
      return {
        query<R>(text: unknown, values?: readonly unknown[]): Promise<PostgresQueryResult<R>> | Submittable {
          if (!isSubmittable(text)) return run<R>(text as string, values ?? [])
          // A connection given back after a failed reconnect: the stream fails as unavailable, and is resumed.
          if (!client) throw new Error('Connection terminated: no connection to stream from')
          return submit(client, text)
        },
        release: (destroy?: boolean) => {
          // A connection that died under a stream, or whose streamed read the server failed, goes, not back to the pool.
          if (client) giveBack(client, destroy === true || isGone(client) || failedOn.has(client))
          client = undefined
        },
      } as PostgresPoolClient
      async function run<R>(text: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>> {
        for (let attempt = 0; ; attempt++) {
          try {
            client ??= await acquire()
            return await once<R>(client, text, values)
          } catch (error) {
            // A connection that died while it sat in the pool (the server or a pooler ended it),
            // whose prepared statement no longer fits the table, or lacks it: once, on a fresh connection.
            const missing = isMisroutedStatement(error)
            if (missing && named) {
              named = false
              onWarning(MISSING_STATEMENT_WARNING)
            }
            const stale = attempt === 0 && (isDeadConnection(error) || isStalePlan(error) || missing)
            const pause = stale ? 0 : RECOVERY_CONFLICT_BACKOFF_MS[attempt]
            if (pause === undefined || (!stale && !isRecoveryConflict(error))) throw error
            // The standby may have ended the session too (FATAL: terminating connection due to
            // conflict with recovery; a pooler then drops the client): retry on a fresh connection.
            if (client) giveBack(client, true)
            client = undefined
            await Bun.sleep(pause)
          }
        }
      }
    },
  }
}
