// Reads the change capture's log for the exact changes feed: a page of what changed since a
// position, or a page of a backfill (every current conversation of some accounts), each in ONE
// statement, so that a page is one snapshot: the log's watermark, the entries below it and the
// conversations' state as that snapshot sees them. Whatever server or pooler the next statement
// lands on (a standby lagging behind another), a page is never assembled from two points in time.
import { sql, type Expression, type RawBuilder } from 'kysely'
import type { Connection } from '../db/dialect.ts'
import * as conversations from '../kpi/conversations.repository.ts'
import type { ConversationScope, PageBoundary, PageWindow } from '../kpi/conversations.repository.ts'
import type { ConversationRecord } from '../kpi/conversations.rules.ts'
import type { LogPosition } from '../kpi/cursor.ts'
import { captureSql } from './capture.ts'

/**
 * A place in the log's order: the entries of transaction `xid`, in the order written (`seq`), and
 * inside an entry that stands for many conversations (an assignee renamed), by conversation id (`sub`).
 */
export type { LogPosition }

/** `sub` of a position after every conversation of its entry. */
export const WHOLE_ENTRY = Number.MAX_SAFE_INTEGER

/** What a page of the log (or of a backfill) delivers, in order. */
export type LogRow =
  | { readonly kind: 'live'; readonly position: LogPosition; readonly at: number; readonly record: ConversationRecord; readonly labels: readonly string[] }
  | { readonly kind: 'deleted'; readonly position: LogPosition; readonly at: number; readonly id: number; readonly accountId: number }

// (`at`: when the row's entry was written, Unix seconds: a cursor that stops at it is that old.)

export interface Snapshot {
  /** Entries of transactions below this id are final: this statement saw all of them that will ever be. */
  readonly watermark: number
  /** The database's time, Unix seconds, when the statement began (before its snapshot). */
  readonly readAt: number
}

export interface LogPage extends Snapshot {
  readonly rows: LogRow[]
  /** How many entries were read (at most the entry limit), and the last of them. */
  readonly scanned: number
  readonly lastEntry: { readonly xid: number; readonly seq: number; readonly at: number } | undefined
}

export interface LogRead {
  /** Read after this position. */
  readonly after: LogPosition
  /** Only these accounts' conversations (the allowlist, or the one account asked for). */
  readonly accountIds: readonly number[]
  /** Rows at most. */
  readonly limit: number
  /** Entries at most (entries of other accounts, or of conversations gone meanwhile, deliver nothing). */
  readonly entryLimit: number
  /** Entries of transactions from this id on are left for later (an export stops where its resume cursor starts). */
  readonly before?: number
}

/** A page of the log after `read.after`: each entry below the watermark, as the conversations it stands for now. */
export async function readLogPage(connection: Connection, read: LogRead): Promise<LogPage> {
  const { db, dialect } = connection
  const capture = captureSql(dialect.name)
  const allowed = (column: string) => dialect.idIn(column, read.accountIds)
  const { xid, seq, sub } = read.after
  const txn = capture.transactionOf(sql.ref('l'))
  const cap = read.before === undefined ? sql`` : sql`and ${txn} < ${read.before}`
  // Each kind of entry stands for its conversations: 'c' one conversation (by id, in the account
  // written, or any when the entry has none: a label), 'u' those assigned to a user, 'k' those of a
  // contact, 't' those labelled with a tag. A 'c' entry of a conversation that left the account
  // (deleted, or moved) and is gone from it now is a deletion; one whose conversation is gone but
  // that did not record the leaving delivers nothing (the entry that did comes in its turn).
  const statement = sql<RawRow>`
    with w as (select ${capture.watermark} as watermark, ${capture.nowEpoch} as read_at),
    e as (
      select ${txn} as xid, l.seq, l.kind, l.ref_id, l.account_id, l.gone, ${capture.epoch(sql.ref('l.changed_at'))} as changed_at
      from kpi_capture_log l
      where (${txn}, l.seq) >= (${xid}, ${seq}) and ${txn} < (select watermark from w) ${cap}
        and (l.account_id is null or ${allowed('l.account_id')})
      order by ${txn}, l.seq
      limit ${read.entryLimit}
    ),
    hits as (
      select e.xid, e.seq, e.ref_id as cid, case when c.id is null or c.account_id <> e.account_id then 1 else 0 end as deleted,
             e.account_id as entry_account, e.changed_at
        from e left join conversations c on c.id = e.ref_id
        where e.kind = 'c' and (
          (c.id is not null and (e.account_id is null or c.account_id = e.account_id) and ${allowed('c.account_id')})
          or (e.gone and (c.id is null or c.account_id <> e.account_id)))
      union all
      select e.xid, e.seq, c.id, 0, cast(null as integer), e.changed_at
        from e join conversations c on c.assignee_id = e.ref_id
        where e.kind = 'u' and ${allowed('c.account_id')}
      union all
      select e.xid, e.seq, c.id, 0, cast(null as integer), e.changed_at
        from e join conversations c on c.contact_id = e.ref_id
        where e.kind = 'k' and ${allowed('c.account_id')}
      union all
      select distinct e.xid, e.seq, c.id, 0, cast(null as integer), e.changed_at
        from e join taggings tg on tg.tag_id = e.ref_id and tg.taggable_type = 'Conversation' and tg.context = 'labels'
               join conversations c on c.id = tg.taggable_id
        where e.kind = 't' and ${allowed('c.account_id')}
    ),
    page as (
      select * from hits where (xid, seq, cid) > (${xid}, ${seq}, ${sub}) order by xid, seq, cid limit ${read.limit}
    )
    select w.watermark, w.read_at,
      (select count(*) from e) as scanned,
      (select xid from e order by xid desc, seq desc limit 1) as last_xid,
      (select seq from e order by xid desc, seq desc limit 1) as last_seq,
      (select changed_at from e order by xid desc, seq desc limit 1) as last_at,
      p.xid, p.seq, p.cid, p.deleted, p.entry_account, p.changed_at,
      ${hydratedColumns(capture.labelsJson(sql.ref('c.id')))}
    from w left join page p on 1 = 1
    ${hydratedJoins(sql`p.deleted = 0`)}
    order by p.xid, p.seq, p.cid`
  const { rows } = await statement.execute(db)
  const first = rows[0]!
  const lastXid = first.last_xid
  return {
    ...snapshotOf(first),
    scanned: Number(first.scanned),
    lastEntry: lastXid === null ? undefined : { xid: Number(lastXid), seq: Number(first.last_seq), at: Number(first.last_at) },
    rows: rows.filter((row) => row.cid !== null).map((row): LogRow => {
      const position = { xid: Number(row.xid), seq: Number(row.seq), sub: Number(row.cid) }
      const at = Number(row.changed_at)
      if (Number(row.deleted) === 1) return { kind: 'deleted', position, at, id: Number(row.cid), accountId: Number(row.entry_account) }
      return { kind: 'live', position, at, ...recordOf(row) }
    }),
  }
}

export interface BackfillPage extends Snapshot {
  /** Live rows, each with its place in the backfill's order (updated_at, id). */
  readonly rows: Array<{ readonly record: ConversationRecord; readonly labels: readonly string[]; readonly boundary: PageBoundary }>
}

/**
 * A page of every current conversation of `scope` (by updated_at, then id, after `window.after`):
 * what a walk delivers before it follows the log (from start_time) and what an account added to
 * the allowlist brings. With the log's watermark of the same snapshot: every change not in these
 * rows is an entry from it on.
 */
export async function readBackfillPage(connection: Connection, scope: ConversationScope, window: PageWindow): Promise<BackfillPage> {
  const { db, dialect } = connection
  const capture = captureSql(dialect.name)
  // Kysely parenthesises an embedded query itself.
  const ids = scope.accountIds.length === 0 || window.limit === 0 ? sql`(select null as id, null as sort_at where 1 = 0)` : conversations.pageIdsQuery(connection, scope, window)
  const statement = sql<RawRow & { sort_at: string | null }>`
    with w as (select ${capture.watermark} as watermark, ${capture.nowEpoch} as read_at),
    page as ${ids as Expression<unknown>}
    select w.watermark, w.read_at, p.sort_at, ${hydratedColumns(capture.labelsJson(sql.ref('c.id')))}
    from w left join page p on 1 = 1
    ${hydratedJoins(sql`1 = 1`, sql`p.id`)}
    order by p.sort_at, p.id`
  const { rows } = await statement.execute(db)
  return {
    ...snapshotOf(rows[0]!),
    rows: rows.filter((row) => row.id !== null).map((row) => ({ ...recordOf(row), boundary: { sortAt: String(row.sort_at), id: Number(row.id) } })),
  }
}

/** The log's watermark and the database's time, alone: where a walk with nothing to read starts, where a download ends. */
export async function readSnapshot({ db, dialect }: Connection): Promise<Snapshot> {
  const capture = captureSql(dialect.name)
  const { rows } = await sql<RawRow>`select ${capture.watermark} as watermark, ${capture.nowEpoch} as read_at`.execute(db)
  return snapshotOf(rows[0]!)
}

/**
 * The database's time (Unix seconds) and, on a hot standby, the time of the last commit it
 * replayed: plain mode serves nothing younger than either (less its lag).
 */
export async function readFeedClock({ db, dialect }: Connection): Promise<{ now: number; replayed: number | undefined }> {
  const capture = captureSql(dialect.name)
  const { rows } = await sql<{ now: number | string; replayed: number | string | null }>`select ${capture.nowEpoch} as now, ${capture.replayedEpoch} as replayed`.execute(db)
  const row = rows[0]!
  return { now: Number(row.now), replayed: row.replayed === null ? undefined : Number(row.replayed) }
}

/** A page's rows as one statement returns them: the page's own columns, then the conversation's. */
interface RawRow extends Omit<conversations.ConversationRow, 'id'> {
  watermark: number | string
  read_at: number | string
  scanned: number | string
  last_xid: number | string | null
  last_seq: number | string | null
  last_at: number | string | null
  xid: number | string | null
  seq: number | string | null
  cid: number | string | null
  deleted: number | string | null
  entry_account: number | string | null
  changed_at: number | string | null
  id: number | string | null
  additional_attributes: unknown
  labels: string | null
}

/** The conversation's columns a page shows, with its assignee, contact and labels. */
function hydratedColumns(labels: RawBuilder<string>): RawBuilder<unknown> {
  return sql`c.id, c.display_id, c.account_id, c.created_at, c.updated_at, c.status, c.additional_attributes,
      u.id as assignee_id, u.name as assignee_name, u.email as assignee_email,
      ct.id as contact_id, ct.identifier as contact_identifier,
      case when c.id is null then null else ${labels} end as labels`
}

/** The conversation of each page row (`p`, by `p.cid`, or `id`), when `live`, with its assignee and contact. */
function hydratedJoins(live: RawBuilder<unknown>, id: RawBuilder<unknown> = sql`p.cid`): RawBuilder<unknown> {
  return sql`left join conversations c on c.id = ${id} and ${live}
    left join users u on u.id = c.assignee_id
    left join contacts ct on ct.id = c.contact_id`
}

function snapshotOf(row: RawRow): Snapshot {
  return { watermark: Number(row.watermark), readAt: Number(row.read_at) }
}

function recordOf(row: RawRow): { record: ConversationRecord; labels: readonly string[] } {
  const attributes = conversations.asObject(conversations.parseJson(row.additional_attributes))
  return { record: conversations.toRecord(row as conversations.ConversationRow, attributes), labels: JSON.parse(row.labels ?? '[]') as string[] }
}
