// The one place that knows PostgreSQL from SQLite: how to connect, how each driver hands over
// types, how created_at is compared, which column types the development schema uses, and which
// driver errors mean "the database is unavailable". Everything else is dialect-blind.
import { Database as SqliteDatabase } from 'bun:sqlite'
import { Kysely, PostgresDialect, sql, type Expression, type LogEvent, type RawBuilder } from 'kysely'
import { BunSqliteDialect } from 'kysely-bun-sqlite'
import pg from 'pg'
import Cursor from 'pg-cursor'
import type { DatabaseConfig } from '../config.ts'
import type { DB, Database } from './database.ts'
import { isRecoveryConflict, PoolSaturatedError, startupSettings, statementPool, type PoolPressure } from './postgres-pool.ts'
import { attributeReading, type AttributeReading } from './postgres-attribute-time.ts'
import { defaultExportConnections, PoolShare } from './pool-share.ts'

export type DialectName = 'sqlite' | 'postgres'

export interface Connection {
  readonly db: DB
  readonly dialect: Dialect
  /** How the connection pool is used (PostgreSQL; SQLite has one connection and no pool). */
  poolStats?(): PoolStats
  /**
   * The share of the pool streamed exports may hold at once (PostgreSQL, where an export holds a
   * connection while it streams; SQLite reads exports in batches and holds nothing between them).
   */
  readonly exportShare?: PoolShare
  destroy(): Promise<void>
}

export interface PoolStats {
  /** Connections open, idle, checked out (working), and requests waiting for one. */
  readonly total: number
  readonly idle: number
  readonly busy: number
  readonly waiting: number
  /** DB_POOL_SIZE. */
  readonly max: number
  /** Connections of the export share in use (exports streaming), and the share. */
  readonly exports: number
  readonly exportShare: number
  /** Waits for a connection that ended saturated (every connection working), and exports refused past the share. */
  readonly saturations: number
  readonly exportsRefused: number
  /** Connections dropped because a streamed read or its close got no answer within the read deadline (DB_STATEMENT_TIMEOUT_MS + 1 s). */
  readonly dropped: number
  /** Now: every connection checked out, requests waiting, and the database answered within DB_CONNECT_TIMEOUT_MS (load, not an outage). */
  readonly saturated: boolean
}

export interface OpenOptions {
  /** The service opens read-only: it must never change the database it reads. */
  readonly readonly: boolean
  /**
   * Called with every SQL statement run, once it has run, and how long it took from the moment it
   * was handed to its connection (specs count queries with it; the benchmark captures a request's
   * statements, and which of them ran at once, with it).
   */
  readonly onQuery?: (sql: string, parameters: readonly unknown[], durationMs: number) => void
  /** Told, once, of a deployment problem the database layer found and worked around (the server logs it). */
  readonly onWarning?: (message: string) => void
}

/** What differs between the dialects, as named helpers. */
export interface Dialect {
  readonly name: DialectName
  /**
   * conversations.created_at as an expression that compares and sorts as UTC time.
   * SQLite stores it as text that may be `YYYY-MM-DD HH:MM:SS[.ffffff]` or ISO-8601 with `T`/`Z`/offset;
   * comparing those texts directly misorders them, so SQLite normalises with strftime (an expression index
   * in the development schema matches it).
   */
  createdAt(column: string): RawBuilder<string>
  /**
   * `column` is one of `ids`, as one parameter whatever their number: an int4 array in PostgreSQL
   * (one value to bind and a plan that does not grow with the list), a JSON array in SQLite.
   */
  idIn(column: string, ids: readonly number[]): RawBuilder<boolean>
  /** `ids` as idIn binds them: the one parameter's value (for a query template, which binds it apart). */
  idList(ids: readonly number[]): string
  /** idIn with the list already made a value (idList's, or a template's placeholder for it). */
  idInList(column: string, list: unknown): RawBuilder<boolean>
  /**
   * The values of a subquery's one column, named `value`, in the subquery's order, as the text of
   * one JSON array (`[]` when it has no row): a row's list read with the row, in the same statement.
   */
  jsonArrayOf(query: Expression<{ value: unknown }>): RawBuilder<string>
  /** Column types for the development schema, production types in PostgreSQL. */
  readonly types: SchemaTypes
  /** True when an error means the database cannot be reached or gave up in time (answered as 503). */
  isUnavailable(error: unknown): boolean
  /**
   * True when an error means the pool was saturated: every connection working for the whole wait
   * while the database answered (answered 503 "busy", never "the database is unavailable").
   */
  isSaturated(error: unknown): boolean
  /**
   * True when the database (or a pooler before it) refuses this service's connection for good: bad
   * credentials, a missing database or role, a startup parameter a transaction pooler rejects. A
   * configuration problem, reported as such: retrying does not help.
   */
  isMisconfigured(error: unknown): boolean
  /**
   * Moves `table`'s id sequence past the largest id in it, after rows were written with explicit
   * ids (seeding, fixtures), so that the next insert without one does not collide. SQLite's
   * AUTOINCREMENT does this by itself; PostgreSQL's serial sequences do not.
   */
  syncIdSequence(db: Kysely<Database>, table: keyof Database): Promise<void>
  /**
   * How an export reads a long range, when it can stream it: one statement, read through a
   * server-side portal as the client reads (PostgreSQL: a pool has other connections for other
   * requests), with the parts only this dialect writes. Absent in SQLite, whose one connection
   * would be held from every other request for the whole export: it reads keyset batches.
   */
  readonly streaming?: StreamingReads
  /**
   * How the metrics aggregate in the database itself (PostgreSQL: chat_duration read in SQL,
   * percentile_cont, periods by width_bucket), one statement for any range. Absent in SQLite, which
   * has neither regular expressions nor percentiles: the metrics read each conversation's facts
   * there and aggregate them in TypeScript (src/kpi/metrics.stats.ts gives the same figures).
   */
  readonly aggregation?: DatabaseAggregation
}

export interface DatabaseAggregation {
  /**
   * How a JSON column's time attribute is read, in stages each selected once per row, to its whole
   * Unix seconds as float8: NULL absent, NaN unreadable, as the rule reads it (src/db/postgres-attribute-time.ts).
   */
  attributeReading(column: string, key: string): AttributeReading
  /** A timestamp column's whole Unix seconds (floor), as float8. */
  epochSeconds(column: string): RawBuilder<number>
  /** Which of `starts` (ascending, UTC database text) a timestamp column falls after: 1 for the first, 0 before it. */
  periodIndex(column: string, starts: readonly string[]): RawBuilder<number>
  /** percentile_cont at each of `fractions` over `expression`'s non-null values, as one float8 array; null when there are none. */
  percentiles(expression: RawBuilder<unknown>, fractions: readonly number[]): RawBuilder<number[] | null>
}

export interface StreamingReads {
  /** `column ->> key`: a top-level value of a JSON column as text (numbers and booleans as their JSON text), null when absent or JSON null. */
  attributeText(column: string, key: string): RawBuilder<string | null>
  /**
   * The values of a one-column subquery, in its order, as the text of one JSON array (JSON.parse
   * reads it natively; pg's parser of array literals goes character by character, and cost an
   * export of 500,000 rows about 2 s of CPU).
   */
  jsonArray(query: Expression<unknown>): RawBuilder<string>
}

export interface SchemaTypes {
  readonly serialPk: 'serial' | 'integer'
  readonly bigserialPk: 'bigserial' | 'integer'
  readonly bigint: 'bigint' | 'integer'
  readonly jsonb: 'jsonb' | 'text'
  readonly timestamp: 'timestamp' | 'text'
  readonly boolean: 'boolean' | 'integer'
  /** SQLite needs AUTOINCREMENT spelled out; PostgreSQL's serial types carry their sequence. */
  readonly autoIncrement: boolean
}

// The last millisecond both databases' text and four-digit years can express.
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * The text form both dialects compare timestamps in: `YYYY-MM-DD HH:MM:SS.mmm`, UTC. The end bound
 * of `until` = 9999-12-31T23:59:59Z is 10000-01-01, which ISO text writes as `+010000-...` and would
 * sort before every year: it is held at the last representable instant instead.
 */
export function toDbTimestamp(date: Date): string {
  return new Date(Math.min(date.getTime(), LATEST)).toISOString().replace('T', ' ').replace('Z', '')
}

const sqliteDialect: Dialect = {
  name: 'sqlite',
  createdAt: (column) => sql<string>`strftime('%Y-%m-%d %H:%M:%f', ${sql.ref(column)})`,
  idIn: (column, ids) => sqliteDialect.idInList(column, sqliteDialect.idList(ids)),
  idList: (ids) => JSON.stringify(ids),
  idInList: (column, list) => sql<boolean>`${sql.ref(column)} in (select value from json_each(${list}))`,
  // json_group_array aggregates in the order its subquery hands the rows over.
  jsonArrayOf: (query) => sql<string>`(select json_group_array(${sql.ref('value')}) from (${query}))`,
  types: {
    serialPk: 'integer',
    bigserialPk: 'integer',
    bigint: 'integer',
    jsonb: 'text',
    timestamp: 'text',
    boolean: 'integer',
    autoIncrement: true,
  },
  isUnavailable: (error) => /SQLITE_BUSY|SQLITE_CANTOPEN|database is locked/i.test(String((error as Error)?.message ?? error)),
  isMisconfigured: () => false,
  isSaturated: () => false,
  syncIdSequence: async () => {},
}

// Connection-level failures: refused, reset, DNS, timeouts of the driver, and the server's own
// class 08 (connection exception), 57P0x (shutdown) and 57014 (statement_timeout / cancel). Not
// 08P01 (protocol violation): that is what we sent (e.g. more bind parameters than the protocol
// counts), a defect of ours to answer 500 and fix, not an outage to retry.
const PG_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', '57014', '57P01', '57P02', '57P03', '53300'])
const PG_PROTOCOL_VIOLATION = '08P01'
// 28000/28P01: no such role or a wrong password; 3D000: no such database; 42501: a role without the
// SELECT grants. PgBouncer words its refusals (code 08P01) instead: an unknown startup parameter, an
// unknown database or user.
const PG_MISCONFIGURED_CODES = new Set(['28000', '28P01', '3D000', '42501'])
const PG_MISCONFIGURED_MESSAGES = /unsupported startup parameter|no such database|no such user|password authentication failed/i
const PG_UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i

const postgresDialect: Dialect = {
  name: 'postgres',
  createdAt: (column) => sql<string>`${sql.ref(column)}`,
  // The array literal written here, not by pg (which escapes every element as if it were text: 5%
  // of a 1,000-row page's CPU); ids are integers, so `{1,2,3}` is the whole literal.
  idIn: (column, ids) => postgresDialect.idInList(column, postgresDialect.idList(ids)),
  idList: (ids) => `{${ids.join(',')}}`,
  idInList: (column, list) => sql<boolean>`${sql.ref(column)} = any(${list}::int4[])`,
  jsonArrayOf: (query) => sql<string>`to_json(array(${query}))::text`,
  types: {
    serialPk: 'serial',
    bigserialPk: 'bigserial',
    bigint: 'bigint',
    jsonb: 'jsonb',
    timestamp: 'timestamp',
    boolean: 'boolean',
    autoIncrement: false,
  },
  isMisconfigured: (error) => {
    const { code, message, cause } = (error ?? {}) as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof code === 'string' && PG_MISCONFIGURED_CODES.has(code)) return true
    if (PG_MISCONFIGURED_MESSAGES.test(String(message ?? ''))) return true
    return cause !== undefined && cause !== error && postgresDialect.isMisconfigured(cause)
  },
  isSaturated: (error) => error instanceof PoolSaturatedError,
  isUnavailable: (error) => {
    // A standby that cancelled the statement again and again: the retries ran out; retry later.
    if (isRecoveryConflict(error)) return true
    const code = (error as { code?: unknown })?.code
    if (typeof code === 'string' && (PG_UNAVAILABLE_CODES.has(code) || (code.startsWith('08') && code !== PG_PROTOCOL_VIOLATION))) return true
    const cause = (error as { cause?: unknown })?.cause
    if (cause && cause !== error && postgresDialect.isUnavailable(cause)) return true
    return PG_UNAVAILABLE_MESSAGES.test(String((error as Error)?.message ?? ''))
  },
  aggregation: {
    attributeReading,
    epochSeconds: (column) => sql<number>`floor(extract(epoch from ${sql.ref(column)}))::float8`,
    // One array parameter whatever the number of periods: `{"2026-01-01 00:00:00.000",…}`.
    periodIndex: (column, starts) => sql<number>`width_bucket(${sql.ref(column)}, ${`{${starts.map((start) => `"${start}"`).join(',')}}`}::timestamp[])`,
    percentiles: (expression, fractions) =>
      sql<number[] | null>`percentile_cont(${sql.raw(`array[${fractions.map((fraction) => String(fraction)).join(',')}]`)}::float8[]) within group (order by ${expression})`,
  },
  streaming: {
    attributeText: (column, key) => sql<string | null>`${sql.ref(column)} ->> ${sql.lit(key)}`,
    jsonArray: (query) => sql<string>`to_json(array(${query}))`,
  },
  syncIdSequence: async (db, table) => {
    // setval(…, max, true): the next id is max + 1; an empty table starts at 1 (setval to 1, not called).
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce(max(id), 1), max(id) is not null) from ${sql.table(table)}`.execute(db)
  },
}

// pg's default parsers turn `timestamp without time zone` into a Date in the *process's* time zone
// and bigint into a string. We take timestamps and JSON as text (parsed once, as UTC, in the
// repository, the same way as SQLite's text) and bigint (count(*), bigint ids) as numbers.
const RAW = (value: string) => value
const PG_TYPE_PARSERS: Record<number, (value: string) => unknown> = {
  20: Number, // int8
  114: RAW, // json
  3802: RAW, // jsonb
  1114: RAW, // timestamp without time zone
  1184: RAW, // timestamp with time zone
}
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' && PG_TYPE_PARSERS[oid] ? PG_TYPE_PARSERS[oid] : pg.types.getTypeParser(oid, format),
}

/**
 * Opens the configured database through Kysely.
 * @throws when a SQLite file opened read-only does not exist.
 */
export function openDatabase(config: DatabaseConfig, options: OpenOptions): Connection {
  if (config.dialect === 'sqlite') {
    const file = config.filename
    const database =
      options.readonly && file !== ':memory:'
        ? new SqliteDatabase(file, { readonly: true })
        : new SqliteDatabase(file, { create: true, readwrite: true })
    // Readers and the seeder may share the file; wait briefly for a lock instead of failing at once.
    database.exec('PRAGMA busy_timeout = 5000')
    const db = new Kysely<Database>({ dialect: new BunSqliteDialect({ database }), log: queryLog(options) })
    return { db, dialect: sqliteDialect, destroy: () => db.destroy() }
  }

  const settings = { mode: config.poolMode ?? 'session', readonly: options.readonly, statementTimeoutMs: config.statementTimeoutMs }
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    // The server cancels a statement past statement_timeout; query_timeout is the client's own guard for
    // a server that stopped answering altogether (a little later, so the server's clearer error wins).
    query_timeout: config.statementTimeoutMs + 1000,
    idleTimeoutMillis: 30_000,
    application_name: 'kpi-conversations',
    types: pgTypes,
    // Read-only and the statement timeout: at connection start, or per transaction behind a transaction pooler.
    ...startupSettings(settings),
  })
  // A client losing its server (a restart, a failover) must not crash the process. The pool
  // listens on idle clients only; a client in use emits 'error' too when the server ends its
  // session, and an 'error' event nobody listens to kills the process. The query in flight still
  // fails (answered 503); the pool drops the client, and the next request opens a new one.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  const pressure: PoolPressure = { checkedOut: 0, saturations: 0, lastAnswer: 0, dropped: 0 }
  // cursor: Kysely's stream() reads through pg-cursor (a portal, a chunk per round trip).
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: statementPool(pool, settings, options.onWarning, pressure), cursor: Cursor }), log: queryLog(options) })
  const exportShare = new PoolShare(config.exportConnections ?? defaultExportConnections(config.poolSize))
  return {
    db,
    dialect: postgresDialect,
    exportShare,
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      busy: pressure.checkedOut,
      waiting: pool.waitingCount,
      max: config.poolSize,
      exports: exportShare.inUse,
      exportShare: exportShare.size,
      saturations: pressure.saturations,
      exportsRefused: exportShare.refused,
      dropped: pressure.dropped,
      saturated:
        pressure.checkedOut >= config.poolSize && pool.waitingCount > 0 && pressure.lastAnswer > 0 && performance.now() - pressure.lastAnswer <= config.connectTimeoutMs,
    }),
    destroy: () => db.destroy(),
  }
}

function queryLog({ onQuery }: OpenOptions) {
  return onQuery ? (event: LogEvent) => onQuery(event.query.sql, event.query.parameters, event.queryDurationMillis) : undefined
}

