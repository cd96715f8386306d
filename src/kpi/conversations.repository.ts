// Reads what the endpoint needs from the helpdesk tables, dialect-blind: every query is Kysely,
// the few dialect differences come from the connection's Dialect. Driver types are normalised
// here, at the edge: ids and counts to numbers, timestamps (UTC text) to Dates, JSON text to values.
import { sql, type CompiledQuery, type Expression, type RawBuilder } from 'kysely'
import type { Connection } from '../db/dialect.ts'
import { toDbTimestamp } from '../db/dialect.ts'
import { QueryTemplates } from '../db/query-templates.ts'
import type { ConversationRecord, CreatedRange, SortDirection, TokenOwner } from './conversations.rules.ts'
import { parseDatabaseTimestamp } from './time.ts'

export const VBET_ACCOUNT_IDS_CONFIG = 'VBET_ACCOUNT_IDS'

/** Who owns `token`: its owner type and, for a `User`, that user's email. Undefined for an unknown token. */
export async function findTokenOwner({ db }: Connection, token: string): Promise<TokenOwner | undefined> {
  const row = await db
    .selectFrom('access_tokens as at')
    // owner_id is bigint, users.id int4: compared as numbers. Only a 'User' owner joins a user row,
    // so an agent bot whose id equals a user's id never borrows that user's email.
    .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'at.owner_id').on('at.owner_type', '=', 'User'))
    .select(['at.owner_type as ownerType', 'u.email as userEmail'])
    .where('at.token', '=', token)
    .limit(1)
    .executeTakeFirst()
  return row ? { ownerType: row.ownerType, userEmail: row.userEmail ?? null } : undefined
}

/**
 * findTokenOwner and findVbetAccountIdsConfig in one statement (one round trip): the token's owner
 * (undefined for an unknown token) and the allowlist's stored value as it is now (JSON-parsed;
 * undefined when absent or unreadable). Each is a derived table of one row at most, left-joined to
 * a row of its own, so that either may be missing.
 */
export async function findTokenOwnerAndAllowlist(connection: Connection, token: string): Promise<{ owner: TokenOwner | undefined; allowlist: unknown }> {
  const { db } = connection
  // Built and compiled once (a template): only the token changes.
  const statement = templatesOf(connection).compile('token-and-allowlist', { token }, (values) => {
    const owner = db
      .selectFrom('access_tokens as at')
      .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'at.owner_id').on('at.owner_type', '=', sql.lit('User')))
      .select([sql.lit(1).as('found'), 'at.owner_type as ownerType', 'u.email as userEmail'])
      .where('at.token', '=', values.token)
      .limit(sql.lit(1))
    const allowlist = db.selectFrom('installation_configs').select('serialized_value').where('name', '=', sql.lit(VBET_ACCOUNT_IDS_CONFIG)).limit(sql.lit(1))
    return db
      .selectFrom(db.selectNoFrom(sql.lit(1).as('one')).as('o'))
      .leftJoin(owner.as('t'), (join) => join.onTrue())
      .leftJoin(allowlist.as('i'), (join) => join.onTrue())
      .select(['t.found', 't.ownerType', 't.userEmail', 'i.serialized_value'])
  })
  const { rows: [row] } = await db.executeQuery(statement)
  if (!row) throw new Error('the token and allowlist statement returned no row')
  return {
    owner: row.found === null ? undefined : { ownerType: row.ownerType!, userEmail: row.userEmail ?? null },
    allowlist: row.serialized_value === null ? undefined : parseJson(row.serialized_value),
  }
}

/** The stored value of the VBET_ACCOUNT_IDS installation config, JSON-parsed; undefined when absent or unreadable. */
export async function findVbetAccountIdsConfig({ db }: Connection): Promise<unknown> {
  const row = await db
    .selectFrom('installation_configs')
    .select('serialized_value')
    .where('name', '=', VBET_ACCOUNT_IDS_CONFIG)
    .executeTakeFirst()
  return row ? parseJson(row.serialized_value) : undefined
}

/** Which conversations a request reads: these accounts, with their time column in this range. */
export interface ConversationScope extends CreatedRange {
  readonly accountIds: readonly number[]
  /**
   * The time the range filters and the order follows: created_at (the documented endpoint) or
   * updated_at (the changes feed). The range's bounds are named for created_at, either way.
   */
  readonly timeColumn?: TimeColumn
}

export type TimeColumn = 'created_at' | 'updated_at'

export interface PageWindow {
  readonly sortDirection: SortDirection
  readonly limit: number
  readonly offset: number
  /** When set, the page starts right after this row (keyset) and `offset` is not used. */
  readonly after?: PageBoundary
}

/** Where a page ended: its last row's sort key, as the database compares it. */
export interface PageBoundary {
  readonly sortAt: string
  readonly id: number
}

/**
 * The conversations of the scope: its accounts, its time column in its range. Every read of a
 * range starts here (pages, counts, exports, the metrics), so all of them read the same set.
 */
export function scoped(connection: Connection, scope: ConversationScope) {
  const { accountIds } = scope
  // One account: `=`, so the index hands rows over in created_at order (the per-account scans of a
  // page rely on it). Several: one bound list, whatever the allowlist's size (`in (?, ?, …)` binds
  // a parameter per account, past the 65,535 PostgreSQL's protocol can count).
  const accounts = accountIds.length === 1 ? oneAccount(accountIds[0]) : connection.dialect.idIn('account_id', accountIds)
  return scopedBy(connection, accounts, scope.timeColumn ?? 'created_at', toDbTimestamp(scope.createdFrom), toDbTimestamp(scope.createdBefore))
}

/** `account_id` is this one account (a value, bound as a parameter). */
function oneAccount(accountId: unknown) {
  return sql<boolean>`${sql.ref('account_id')} = ${accountId}`
}

/** The conversations of `accounts` whose `column` is in [from, before) (database timestamp text, or a template's placeholders). */
function scopedBy({ db, dialect }: Connection, accounts: RawBuilder<boolean>, column: TimeColumn, from: unknown, before: unknown) {
  return db
    .selectFrom('conversations')
    .where(accounts)
    .where(dialect.createdAt(column), '>=', from as string)
    .where(dialect.createdAt(column), '<', before as string)
}

/** How many conversations the scope holds, across all pages. */
export async function countConversations(connection: Connection, scope: ConversationScope): Promise<number> {
  const { accountIds } = scope
  if (accountIds.length === 0) return 0
  // scoped()'s query, built and compiled once per shape (one account or a list; the time column):
  // the accounts and the range are its values.
  const one = accountIds.length === 1
  const column = scope.timeColumn ?? 'created_at'
  const values = {
    accounts: one ? accountIds[0] : connection.dialect.idList(accountIds),
    from: toDbTimestamp(scope.createdFrom),
    before: toDbTimestamp(scope.createdBefore),
  }
  const statement = templatesOf(connection).compile(`count|${column}|${one ? 'one' : 'list'}`, values, (v) =>
    scopedBy(connection, one ? oneAccount(v.accounts) : connection.dialect.idInList('account_id', v.accounts), column, v.from, v.before).select((eb) =>
      eb.fn.countAll().as('count'),
    ),
  )
  const { rows } = await connection.db.executeQuery(statement)
  return Number(rows[0]!.count)
}

/** Rows after `after` in the order (time, id), in `direction`: where a keyset page or a resumed export starts. */
function afterBoundary(time: RawBuilder<string>, direction: SortDirection, after: PageBoundary) {
  return sql<boolean>`(${time}, ${sql.ref('id')}) ${sql.raw(direction === 'asc' ? '>' : '<')} (${after.sortAt}, ${after.id})`
}

/**
 * Beyond this many accounts the page is cut by one scan of them all (and a sort) instead of a merge
 * of per-account scans: SQLite caps a compound select at 500 members, and planning grows with them.
 */
const MERGE_MAX_ACCOUNTS = 64

/** What changes the text of a page's ids query; everything else about a page is a value. */
interface PageIdsShape {
  readonly timeColumn: TimeColumn
  readonly direction: SortDirection
  /** How many accounts the union merges (one scan each). */
  readonly accounts: number
  readonly after: boolean
  readonly offset: boolean
}

/**
 * The values of a page's ids query, each bound as a parameter: the range, the accounts (`a0`,
 * `a1`, …), the limits, the offset and the boundary to start after, as the shape uses them.
 */
type PageIdsValues = Record<string, unknown>

/**
 * The ids of one page, in order. Per account, the (account_id, created_at, id) index already
 * holds the conversations in the API's order; a UNION ALL of one ordered, limited scan per account
 * lets PostgreSQL merge them (Merge Append) and stop at the page, where `account_id IN (…)`
 * would read and sort the whole range of every account for every page. The ids alone are read,
 * which the index covers: the rows an offset skips cost an index entry each. With one account,
 * that account's scan alone.
 */
function buildPageIds(connection: Connection, shape: PageIdsShape, v: PageIdsValues) {
  const { db, dialect } = connection
  const { direction } = shape
  const time = dialect.createdAt(shape.timeColumn)
  const after = shape.after ? { sortAt: v.sortAt as string, id: v.afterId as number } : undefined
  const ordered = (account: unknown, limit: unknown) =>
    orderedIds(scopedBy(connection, oneAccount(account), shape.timeColumn, v.from, v.before), time, direction, limit, after)
  if (shape.accounts === 1) return ordered(v.a0, v.limit).$if(shape.offset, (query) => query.offset(v.offset as number))
  const [first, ...rest] = Array.from({ length: shape.accounts }, (_, index) =>
    db.selectFrom(ordered(v[`a${index}`], v.memberLimit).as(`a${index}`)).select(['id', 'sort_at']),
  )
  const merged = rest.reduce((union, member) => union.unionAll(member), first!)
  return db
    .selectFrom(merged.as('m'))
    .select(['id', 'sort_at'])
    .orderBy('sort_at', direction)
    .orderBy('id', direction)
    .limit(v.limit as number)
    .$if(shape.offset, (query) => query.offset(v.offset as number))
}

/** One ordered scan of `scoped` for a page's ids: by (time, id) in `direction`, after `after` when given, at most `limit`. */
function orderedIds(scoped: ReturnType<typeof scopedBy>, time: RawBuilder<string>, direction: SortDirection, limit: unknown, after: PageBoundary | undefined) {
  const query = scoped
    .select(['id', time.as('sort_at')])
    .orderBy(time, direction)
    .orderBy('id', direction)
    .limit(limit as number)
  return after ? query.where(afterBoundary(time, direction, after)) : query
}

/** Beyond MERGE_MAX_ACCOUNTS: one scan of all the accounts (one list parameter) and a sort. */
function scannedPageIds(connection: Connection, scope: ConversationScope, window: PageWindow, offset: number) {
  const time = connection.dialect.createdAt(scope.timeColumn ?? 'created_at')
  return orderedIds(scoped(connection, scope), time, window.sortDirection, window.limit, window.after).$if(offset > 0, (query) => query.offset(offset))
}

/** What a page's ids query is made of: its shape (the SQL text) and its values (the parameters). */
function pageIdsParts(scope: ConversationScope, window: PageWindow): { shape: PageIdsShape; values: PageIdsValues; offset: number } {
  // With a boundary the page is the next `limit` rows after it: no row is skipped to get there.
  const offset = window.after ? 0 : window.offset
  const accounts = scope.accountIds.length
  const shape: PageIdsShape = {
    timeColumn: scope.timeColumn ?? 'created_at',
    direction: window.sortDirection,
    accounts,
    after: window.after !== undefined,
    offset: offset > 0,
  }
  const values: PageIdsValues = { from: toDbTimestamp(scope.createdFrom), before: toDbTimestamp(scope.createdBefore), limit: window.limit }
  scope.accountIds.forEach((accountId, index) => (values[`a${index}`] = accountId))
  if (accounts > 1) values.memberLimit = offset + window.limit
  if (shape.offset) values.offset = offset
  if (window.after) {
    values.sortAt = window.after.sortAt
    values.afterId = window.after.id
  }
  return { shape, values, offset }
}

/** A page's ids query compiled: its shape's template (the connection's, unless given) with this page's values. */
export function pageIdsStatement(
  connection: Connection,
  scope: ConversationScope,
  window: PageWindow,
  templates: QueryTemplates = templatesOf(connection),
): CompiledQuery<{ id: number | string; sort_at: string }> {
  const { shape, values, offset } = pageIdsParts(scope, window)
  if (shape.accounts > MERGE_MAX_ACCOUNTS) return scannedPageIds(connection, scope, window, offset).compile()
  const key = `page-ids|${shape.timeColumn}|${shape.direction}|${shape.accounts}|${shape.after ? 'after' : ''}|${shape.offset ? 'offset' : ''}`
  return templates.compile(key, values, (placeholders) => buildPageIds(connection, shape, placeholders))
}

/**
 * A page's ids (`id`, `sort_at`) as a query with its values bound, not compiled: for a statement
 * that reads the page's rows with them, in one snapshot (the changes feed's exact mode).
 */
export function pageIdsQuery(connection: Connection, scope: ConversationScope, window: PageWindow): Expression<{ id: number | string; sort_at: string }> {
  const { shape, values, offset } = pageIdsParts(scope, window)
  if (shape.accounts > MERGE_MAX_ACCOUNTS) return scannedPageIds(connection, scope, window, offset) as unknown as Expression<{ id: number | string; sort_at: string }>
  return buildPageIds(connection, shape, values) as unknown as Expression<{ id: number | string; sort_at: string }>
}

/** Each connection's templates: its dialect writes its own SQL. */
const templates = new WeakMap<Connection['db'], QueryTemplates>()
function templatesOf({ db }: Connection): QueryTemplates {
  let found = templates.get(db)
  if (!found) templates.set(db, (found = new QueryTemplates()))
  return found
}

/** The ids of one page of the scope, in the page's order (created_at then id, in the window's direction), each row's sort key, and where it ended. */
export async function findPageIds(
  connection: Connection,
  scope: ConversationScope,
  window: PageWindow,
): Promise<{ ids: number[]; boundaries: PageBoundary[]; last: PageBoundary | undefined }> {
  if (scope.accountIds.length === 0 || window.limit === 0) return { ids: [], boundaries: [], last: undefined }
  const { rows } = await connection.db.executeQuery(pageIdsStatement(connection, scope, window))
  const boundaries = rows.map((row) => ({ sortAt: String(row.sort_at), id: Number(row.id) }))
  return { ids: boundaries.map((row) => row.id), boundaries, last: boundaries.at(-1) }
}

/** A page's row: the conversation whole (with assignee and contact), its labels, and where it sits in the order. */
export interface PageRow {
  readonly record: ConversationRecord
  readonly labels: readonly string[]
  readonly boundary: PageBoundary
}

/**
 * One page of the scope, whole, in one statement (one round trip where there were three): the
 * page's ids (findPageIds' query, as a subquery), each of those rows by primary key with its
 * assignee, contact and labels (in tagging order, as one JSON array), in the page's order, all in
 * one snapshot. Every value is a parameter of one template per shape.
 */
export async function findPage(connection: Connection, scope: ConversationScope, window: PageWindow): Promise<PageRow[]> {
  if (scope.accountIds.length === 0 || window.limit === 0) return []
  const { rows } = await connection.db.executeQuery(pageStatement(connection, scope, window))
  return rows.map((row) => ({
    record: toRecord(row, asObject(parseJson(row.additional_attributes))),
    labels: (JSON.parse(row.labels) as Array<string | null>).filter((label): label is string => label !== null),
    boundary: { sortAt: String(row.sort_at), id: Number(row.id) },
  }))
}

type PageStatementRow = ConversationRow & { additional_attributes: unknown; sort_at: string; labels: string }

/** findPage's statement compiled: the shape's template (the connection's) with this page's values. */
export function pageStatement(connection: Connection, scope: ConversationScope, window: PageWindow): CompiledQuery<PageStatementRow> {
  const { shape, values, offset } = pageIdsParts(scope, window)
  if (shape.accounts > MERGE_MAX_ACCOUNTS) return wholePage(connection, scannedPageIds(connection, scope, window, offset), window.sortDirection).compile() as CompiledQuery<PageStatementRow>
  const key = `page|${shape.timeColumn}|${shape.direction}|${shape.accounts}|${shape.after ? 'after' : ''}|${shape.offset ? 'offset' : ''}`
  return templatesOf(connection).compile(key, values, (placeholders) => wholePage(connection, buildPageIds(connection, shape, placeholders), shape.direction)) as CompiledQuery<PageStatementRow>
}

/** The rows of a page's ids (`id`, `sort_at`) whole, with their labels, in the page's order. */
function wholePage(connection: Connection, pageIds: ReturnType<typeof buildPageIds> | ReturnType<typeof scannedPageIds>, direction: SortDirection) {
  const { db, dialect } = connection
  const page = db.selectFrom(pageIds.as('p'))
  const labels = dialect
    .jsonArrayOf(
      db
        .selectFrom('taggings as tg')
        .innerJoin('tags as t', 't.id', 'tg.tag_id')
        .select('t.name as value')
        .where('tg.taggable_id', '=', sql.ref<number>('p.id'))
        // Constants, written into the text: a template binds only the page's values.
        .where('tg.taggable_type', '=', sql.lit('Conversation'))
        .where('tg.context', '=', sql.lit('labels'))
        .where('t.name', 'is not', null)
        .orderBy('tg.id'),
    )
    .as('labels')
  // Each row met by its primary key, one page's ids at a time (a nested loop: the page's limit is
  // all the planner expects of the subquery, a few rows in a generic plan).
  return page
    .innerJoin('conversations as c', 'c.id', 'p.id')
    .leftJoin('users as u', 'u.id', 'c.assignee_id')
    // contact_id is bigint, contacts.id int4: compared as numbers.
    .leftJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .select([...CONVERSATION_COLUMNS, 'c.additional_attributes', 'p.sort_at', labels])
    .orderBy('p.sort_at', direction)
    .orderBy('p.id', direction)
}

/** A conversation's columns (`c`) with its assignee (`u`) and contact (`ct`), as both reads of them select them (toRecord's row). */
const CONVERSATION_COLUMNS = [
  'c.id',
  'c.display_id',
  'c.account_id',
  'c.created_at',
  'c.updated_at',
  'c.status',
  'u.id as assignee_id',
  'u.name as assignee_name',
  'u.email as assignee_email',
  'ct.id as contact_id',
  'ct.identifier as contact_identifier',
] as const

/**
 * These conversations, whole, with assignee and contact, in the order of `ids`, by primary key
 * (the changes feed, SQLite's export batches; a page reads its rows with its ids: findPage).
 */
export async function findConversations({ db, dialect }: Connection, ids: readonly number[]): Promise<ConversationRecord[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('conversations as c')
    .leftJoin('users as u', 'u.id', 'c.assignee_id')
    // contact_id is bigint, contacts.id int4: compared as numbers.
    .leftJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .select([...CONVERSATION_COLUMNS, 'c.additional_attributes'])
    .where(dialect.idIn('c.id', ids))
    .execute()

  const records = new Map<number, ConversationRecord>()
  for (const row of rows) records.set(Number(row.id), toRecord(row, asObject(parseJson(row.additional_attributes))))
  // A row deleted between the two statements is left out rather than shown empty.
  return ids.flatMap((id) => records.get(id) ?? [])
}

/** The columns of a conversation row, with assignee and contact, as every read of them selects them. */
export interface ConversationRow {
  id: number | string
  display_id: number | string
  account_id: number | string
  created_at: string
  updated_at: string
  status: number | string
  assignee_id: number | string | null
  assignee_name: string | null
  assignee_email: string | null
  contact_id: number | string | null
  contact_identifier: string | null
}

/** A row's driver types normalised: ids to numbers, UTC text to Dates; the attributes as read. */
export function toRecord(row: ConversationRow, additionalAttributes: Record<string, unknown>): ConversationRecord {
  return {
    id: Number(row.id),
    displayId: Number(row.display_id),
    accountId: Number(row.account_id),
    createdAt: parseDbTimestamp(row.created_at),
    updatedAt: parseDbTimestamp(row.updated_at),
    status: Number(row.status),
    additionalAttributes,
    assignee: row.assignee_id === null ? null : { id: Number(row.assignee_id), name: row.assignee_name ?? '', email: row.assignee_email ?? null },
    contact: row.contact_id === null ? null : { id: Number(row.contact_id), identifier: row.contact_identifier ?? null },
  }
}

/** A conversation with its labels (in tagging order) as an export reads it, and where it sits in the order. */
export interface StreamedConversation {
  readonly record: ConversationRecord
  readonly labels: readonly string[]
  readonly boundary: PageBoundary
}

/**
 * Every conversation of the scope, after `after` when given, whole and with its labels, in the
 * page order, in chunks of `chunkSize`, from one statement read a chunk at a time as they are consumed: the server
 * plans the whole range at once (hash joins and one sort, as COPY of the same query would) instead
 * of a round trip of three statements per batch. Of additional_attributes only the two times an
 * item shows are read, extracted by the server (the rules read them as they read the parsed JSON).
 * Only where the dialect streams (`dialect.streaming`, PostgreSQL).
 */
export async function* streamConversations(
  connection: Connection,
  scope: ConversationScope,
  sortDirection: SortDirection,
  after: PageBoundary | undefined,
  chunkSize: number,
): AsyncGenerator<StreamedConversation[]> {
  const { db, dialect } = connection
  const streaming = dialect.streaming
  if (!streaming) throw new Error(`${dialect.name} does not stream: read an export in batches`)
  if (scope.accountIds.length === 0) return
  const column = scope.timeColumn ?? 'created_at'
  const inner = scoped(connection, scope).$if(after !== undefined, (query) => query.where(afterBoundary(dialect.createdAt(column), sortDirection, after!)))
  const time = dialect.createdAt(`c.${column}`)
  const query = db
    .selectFrom(inner.selectAll().as('c'))
    .leftJoin('users as u', 'u.id', 'c.assignee_id')
    .leftJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .select((eb) => [
      ...CONVERSATION_COLUMNS,
      time.as('sort_at'),
      streaming.attributeText('c.additional_attributes', 'resolved_time').as('resolved_time'),
      streaming.attributeText('c.additional_attributes', 'reopen_time').as('reopen_time'),
      streaming
        .jsonArray(
          eb
            .selectFrom('taggings as tg')
            .innerJoin('tags as t', 't.id', 'tg.tag_id')
            .select('t.name')
            .whereRef('tg.taggable_id', '=', 'c.id')
            .where('tg.taggable_type', '=', 'Conversation')
            .where('tg.context', '=', 'labels')
            .where('t.name', 'is not', null)
            .orderBy('tg.id'),
        )
        .as('labels'),
    ])
    .orderBy(time, sortDirection)
    .orderBy('c.id', sortDirection)
  let chunk: StreamedConversation[] = []
  for await (const row of query.stream(chunkSize)) {
    const attributes: Record<string, unknown> = { resolved_time: row.resolved_time, reopen_time: row.reopen_time }
    chunk.push({ record: toRecord(row, attributes), labels: JSON.parse(row.labels) as string[], boundary: { sortAt: String(row.sort_at), id: Number(row.id) } })
    if (chunk.length === chunkSize) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

/** One page of the scope's conversations, whole: its ids (findPageIds), then those rows (findConversations). */
export async function findConversationsPage(
  connection: Connection,
  scope: ConversationScope,
  window: PageWindow,
): Promise<ConversationRecord[]> {
  return findConversations(connection, (await findPageIds(connection, scope, window)).ids)
}

/**
 * The labels of these conversations, each list in tagging order (taggings.id), as the platform lists
 * them: the names of their `Conversation` taggings in the `labels` context. One query for the page.
 */
export async function findLabels({ db, dialect }: Connection, conversationIds: readonly number[]): Promise<Map<number, string[]>> {
  const labels = new Map<number, string[]>()
  if (conversationIds.length === 0) return labels
  const rows = await db
    .selectFrom('taggings as tg')
    .innerJoin('tags as t', 't.id', 'tg.tag_id')
    .select(['tg.taggable_id', 't.name'])
    .where('tg.taggable_type', '=', 'Conversation')
    .where('tg.context', '=', 'labels')
    .where(dialect.idIn('tg.taggable_id', conversationIds))
    .orderBy('tg.taggable_id')
    .orderBy('tg.id')
    .execute()
  for (const { taggable_id, name } of rows) {
    if (taggable_id === null || name === null) continue
    const id = Number(taggable_id)
    const list = labels.get(id)
    if (list) list.push(name)
    else labels.set(id, [name])
  }
  return labels
}

/** Is the database answering? For readiness checks. */
export async function ping({ db }: Connection): Promise<void> {
  await db.selectFrom('installation_configs').select('id').limit(1).execute()
}

function parseDbTimestamp(text: string): Date {
  const date = parseDatabaseTimestamp(String(text))
  if (date === null) throw new Error(`unreadable timestamp in conversations: ${JSON.stringify(text)}`)
  return date
}

/** A JSON column as read (text in SQLite, and in PostgreSQL as the service reads it): its value, undefined when unreadable. */
export function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text ?? undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A JSON value when it is an object, else an empty one (additional_attributes may hold anything). */
export function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}
