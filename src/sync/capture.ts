// The change capture of the helpdesk database, as the operator installs, checks and removes it
// (`npm run change-capture -- install|status|remove`), and as the service finds it: installed, the
// changes feed is exact (src/kpi/changes.service.ts). Each dialect's SQL sits in a file of its own
// (capture.postgres.ts, capture.sqlite.ts); this module runs it and reads what is there.
import { sql, type RawBuilder } from 'kysely'
import type { Connection, DialectName } from '../db/dialect.ts'
import { postgresCapture } from './capture.postgres.ts'
import { sqliteCapture } from './capture.sqlite.ts'

export interface InstallOptions {
  /** Entries older than this many days are pruned (by the capture itself, as writes go on). */
  readonly retentionDays: number
  /** A role that may read the log (the service's), granted SELECT on the capture's tables (PostgreSQL). */
  readonly grantTo?: string
}

/** A dialect's capture: the statements that install and remove it, and the SQL the feed reads it with. */
export interface CaptureSql {
  install(options: InstallOptions): string[]
  remove(): string[]
  /** One row: how many of the capture's tables, functions and triggers exist, and whether this session may read the log. */
  readonly presence: RawBuilder<unknown>
  readonly expected: { readonly tables: number; readonly functions: number; readonly triggers: number }
  /** The transaction of the log's entry `log` (a table alias), in the order the feed reads entries. */
  transactionOf(log: RawBuilder<unknown>): RawBuilder<number>
  /** Every entry below this transaction id is final (its transaction ended): the feed reads up to it. */
  readonly watermark: RawBuilder<number>
  /** The database's time, in Unix seconds, no later than the snapshot the statement reads. */
  readonly nowEpoch: RawBuilder<number>
  /** On a hot standby, the time of the last commit it replayed (Unix seconds); null elsewhere. */
  readonly replayedEpoch: RawBuilder<number | null>
  /** A timestamp column in Unix seconds. */
  epoch(column: RawBuilder<unknown>): RawBuilder<number>
  /** A conversation's labels (tags of its Conversation taggings in the labels context, in tagging order) as the text of a JSON array. */
  labelsJson(conversationId: RawBuilder<unknown>): RawBuilder<string>
}

export function captureSql(dialect: DialectName): CaptureSql {
  return dialect === 'postgres' ? postgresCapture : sqliteCapture
}

export type CaptureState = 'installed' | 'not installed' | 'partially installed'

export interface CaptureStatus {
  readonly state: CaptureState
  /** Whether this connection's role may read the log (the service's role needs `--grant`). */
  readonly readable: boolean
  /** What was found of the capture's objects, against what a whole installation has. */
  readonly found: { readonly tables: number; readonly functions: number; readonly triggers: number }
  readonly expected: CaptureSql['expected']
  /** The retention the capture prunes with (when installed and readable). */
  readonly retentionDays?: number
  readonly version?: number
}

/** What of the capture is in this database. */
export async function readCaptureStatus({ db, dialect }: Connection): Promise<CaptureStatus> {
  const capture = captureSql(dialect.name)
  const { rows } = await capture.presence.execute(db)
  const row = rows[0] as Record<string, unknown>
  const found = { tables: Number(row.tables), functions: Number(row.functions), triggers: Number(row.triggers) }
  const { expected } = capture
  const whole = found.tables === expected.tables && found.functions === expected.functions && found.triggers === expected.triggers
  const none = found.tables === 0 && found.functions === 0 && found.triggers === 0
  const state: CaptureState = whole ? 'installed' : none ? 'not installed' : 'partially installed'
  const readable = state === 'installed' && (row.readable === true || Number(row.readable) === 1)
  if (!readable) return { state, readable, found, expected }
  const settings = await sql<{ version: number | string; retention_days: number | string }>`select version, retention_days from kpi_capture_settings`.execute(db)
  const setting = settings.rows[0]
  return { state, readable, found, expected, version: Number(setting?.version), retentionDays: Number(setting?.retention_days) }
}

/**
 * Installs the capture (or reinstalls it over an earlier installation, keeping its log), in one
 * transaction: all of it or nothing.
 * @throws when the database refuses (not the tables' owner, a lock not granted in time).
 */
export async function installCapture({ db, dialect }: Connection, options: InstallOptions): Promise<void> {
  if (!(options.retentionDays > 0)) throw new Error('the retention must be a positive number of days')
  const statements = captureSql(dialect.name).install(options)
  await db.transaction().execute(async (trx) => {
    for (const statement of statements) await sql.raw(statement).execute(trx)
  })
}

/** Removes every object of the capture, in one transaction; nothing else is touched. */
export async function removeCapture({ db, dialect }: Connection): Promise<void> {
  const statements = captureSql(dialect.name).remove()
  await db.transaction().execute(async (trx) => {
    for (const statement of statements) await sql.raw(statement).execute(trx)
  })
}
