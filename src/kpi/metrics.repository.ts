// Reads the metrics' groups: counts and duration distributions of the scope's conversations by
// period and the asked keys. The scope is the rows endpoint's own (conversations.repository's
// `scoped`), so the set is the same. Where the database aggregates (dialect.aggregation,
// PostgreSQL) one statement does it all; elsewhere (SQLite) each conversation's facts are read
// and aggregated here, by the same rules of the figures (metrics.stats.ts).
import { sql, type RawBuilder } from 'kysely'
import type { Connection, DatabaseAggregation } from '../db/dialect.ts'
import { toDbTimestamp } from '../db/dialect.ts'
import { asObject, findLabels, findPageIds, parseJson, scoped, type ConversationScope } from './conversations.repository.ts'
import { chatDuration, parseAttributeTime } from './conversations.rules.ts'
import { statusGroup, type Grouping, type MetricsGroup } from './metrics.rules.ts'
import { distributionOf, PERCENTILES, type Distribution } from './metrics.stats.ts'
import { parseDatabaseTimestamp, wholeSeconds } from './time.ts'

/** The platform's column of a conversation's first reply (timestamp without time zone, nullable). */
export const FIRST_REPLY_COLUMN = 'first_reply_created_at'

/** How long whether the column exists is believed: a migration that adds it is seen within this. */
const COLUMN_CHECK_TTL_MS = 60_000
const columnChecks = new WeakMap<Connection['db'], { readonly exists: boolean; readonly at: number }>()

/**
 * Whether conversations has first_reply_created_at in this database (a real helpdesk's may not):
 * a statement that selects it and no row. Any other failure than "no such column" is thrown.
 */
export async function hasFirstReplyColumn(connection: Connection, now = Date.now()): Promise<boolean> {
  const known = columnChecks.get(connection.db)
  if (known && now - known.at < COLUMN_CHECK_TTL_MS) return known.exists
  let exists = true
  try {
    // Qualified by its table: SQLite reads an unknown bare "name" as a string literal, not an error.
    await sql`select ${sql.ref(`conversations.${FIRST_REPLY_COLUMN}`)} from conversations where 1 = 0`.execute(connection.db)
  } catch (error) {
    if (!/column .*does not exist|no such column/i.test(String((error as Error)?.message ?? error))) throw error
    exists = false
  }
  columnChecks.set(connection.db, { exists, at: now })
  return exists
}

/** When the scope's first conversation was created (the start of its periods when since is not given); undefined when it has none. */
export async function firstCreatedAt(connection: Connection, scope: ConversationScope): Promise<Date | undefined> {
  const { boundaries } = await findPageIds(connection, scope, { sortDirection: 'asc', limit: 1, offset: 0 })
  return boundaries[0] ? (parseDatabaseTimestamp(boundaries[0].sortAt) ?? undefined) : undefined
}

/** What a request aggregates. */
export interface MetricsShape {
  readonly grouping: Grouping
  /** With a period: the instants its periods start at (epoch ms, ascending). */
  readonly periodStarts: readonly number[]
  /** Whether first_reply_created_at exists (hasFirstReplyColumn). */
  readonly firstResponse: boolean
  /** Read at most this many groups (the caller refuses more). */
  readonly limit: number
}

/** The scope's groups (only those that hold conversations), at most `shape.limit`. */
export async function findMetricsGroups(connection: Connection, scope: ConversationScope, shape: MetricsShape): Promise<MetricsGroup[]> {
  if (scope.accountIds.length === 0) return []
  const aggregation = connection.dialect.aggregation
  return aggregation ? aggregatedInDatabase(connection, aggregation, scope, shape) : aggregatedHere(connection, scope, shape)
}

interface GroupRow {
  period?: number | string
  account_id?: number | string
  assignee_id?: number | string | null
  assignee_name?: string | null
  status?: number | string
  label?: string | null
  conversations: number | string
  open: number | string
  resolved: number | string
  pending: number | string
  snoozed: number | string
  cd_count: number | string
  cd_sum: number | string | null
  cd_max: number | string | null
  cd_p: number[] | null
  fr_count?: number | string
  fr_sum?: number | string | null
  fr_max?: number | string | null
  fr_p?: number[] | null
}

/**
 * One statement (PostgreSQL): the scope's rows with their time attributes read in stages (each a
 * subquery), then chat_duration and first_response in whole seconds (another), then grouped, with
 * percentile_cont. Labels by a lateral subquery of each
 * conversation's distinct label names (a label tagged twice counts once; none: one null row).
 */
async function aggregatedInDatabase(connection: Connection, aggregation: DatabaseAggregation, scope: ConversationScope, shape: MetricsShape): Promise<MetricsGroup[]> {
  const { db } = connection
  const { grouping, firstResponse } = shape
  const asked = new Set(grouping.dimensions)
  // The time attributes read in stages, each a subquery the planner keeps (offset 0), so that the
  // expressions of a stage, which read the one before many times, do not compute it again each time.
  const attributes = { resolved: aggregation.attributeReading('additional_attributes', 'resolved_time'), reopen: aggregation.attributeReading('additional_attributes', 'reopen_time') }
  const names = Object.keys(attributes) as Array<keyof typeof attributes>
  const base = ['id', 'account_id', 'status', 'assignee_id', 'created_at', ...(firstResponse ? ['first_reply_at'] : [])]
  const stageColumns = (stage: number, previous: string | undefined) =>
    names.flatMap((name) =>
      Object.entries(attributes[name].stages[stage]!((column) => sql.ref(`${previous}.${name}_${column}`))).map(([column, expression]) => expression.as(`${name}_${column}`)),
    )
  let staged = scoped(connection, scope)
    .select([...(['id', 'account_id', 'status', 'assignee_id', 'created_at'] as const), ...(firstResponse ? [sql.ref(FIRST_REPLY_COLUMN).as('first_reply_at')] : []), ...stageColumns(0, undefined)])
    .offset(0)
  for (let stage = 1; stage < attributes.resolved.stages.length; stage++) {
    const alias = `s${stage}`
    staged = db
      .selectFrom(staged.as(alias))
      .select([...base.map((column) => sql.ref(`${alias}.${column}`).as(column)), ...stageColumns(stage, alias)])
      .offset(0) as unknown as typeof staged
  }
  const fields = staged
  const seconds = (name: keyof typeof attributes) => attributes[name].seconds((column) => sql.ref(`f.${name}_${column}`))
  const created = aggregation.epochSeconds('f.created_at')
  // chat_duration = resolved − (reopen || created): NaN (then null) when either attribute is unreadable.
  const chat = sql`nullif(${seconds('resolved')} - coalesce(${seconds('reopen')}, ${created}), 'NaN')::bigint`
  const measured = db
    .selectFrom(fields.as('f'))
    .select([
      'f.id',
      'f.account_id',
      'f.status',
      'f.assignee_id',
      ...(shape.grouping.period ? [aggregation.periodIndex('f.created_at', periodStartsText(scope, shape.periodStarts)).as('period')] : []),
      chat.as('cd'),
      ...(firstResponse ? [sql`(${aggregation.epochSeconds('f.first_reply_at')} - ${created})::bigint`.as('fr')] : []),
    ])
    .offset(0)
  const distribution = (column: string, prefix: string) => [
    sql`count(${sql.ref(column)})`.as(`${prefix}_count`),
    sql`sum(${sql.ref(column)})`.as(`${prefix}_sum`),
    sql`max(${sql.ref(column)})`.as(`${prefix}_max`),
    aggregation.percentiles(sql.ref(column), PERCENTILES).as(`${prefix}_p`),
  ]
  const byStatus = (code: number, name: string) => sql`count(*) filter (where ${sql.ref('c.status')} = ${sql.lit(code)})`.as(name)
  const keys: Array<[string, RawBuilder<unknown>]> = []
  if (grouping.period) keys.push(['period', sql.ref('c.period')])
  if (asked.has('account')) keys.push(['account_id', sql.ref('c.account_id')])
  if (asked.has('assignee')) keys.push(['assignee_id', sql.ref('u.id')], ['assignee_name', sql`coalesce(${sql.ref('u.name')}, '')`])
  if (asked.has('status')) keys.push(['status', sql`case when ${sql.ref('c.status')} between 0 and 3 then ${sql.ref('c.status')} else 4 end`])
  if (asked.has('label')) keys.push(['label', sql.ref('l.name')])
  const query = db
    .selectFrom(measured.as('c'))
    .$if(asked.has('assignee'), (q) => q.leftJoin('users as u', 'u.id', 'c.assignee_id'))
    .$if(asked.has('label'), (q) =>
      q.leftJoinLateral(
        sql<{ name: string | null }>`(select distinct t.name from taggings tg join tags t on t.id = tg.tag_id
          where tg.taggable_id = c.id and tg.taggable_type = 'Conversation' and tg.context = 'labels' and t.name is not null)`.as('l'),
        (join) => join.onTrue(),
      ),
    )
    .select([
      ...keys.map(([name, expression]) => expression.as(name)),
      sql`count(*)`.as('conversations'),
      byStatus(0, 'open'),
      byStatus(1, 'resolved'),
      byStatus(2, 'pending'),
      byStatus(3, 'snoozed'),
      ...distribution('c.cd', 'cd'),
      ...(firstResponse ? distribution('c.fr', 'fr') : []),
    ])
    .$if(keys.length > 0, (q) => q.groupBy(keys.map(([, expression]) => expression)))
    .limit(shape.limit)
  const rows = (await query.execute()) as unknown as GroupRow[]
  return rows.map((row) => ({
    ...(row.period !== undefined ? { period: Number(row.period) - 1 } : {}),
    ...(row.account_id !== undefined ? { accountId: Number(row.account_id) } : {}),
    ...(row.assignee_id !== undefined ? { assignee: row.assignee_id === null ? null : { id: Number(row.assignee_id), name: row.assignee_name ?? '' } } : {}),
    ...(row.status !== undefined ? { status: Number(row.status) } : {}),
    ...(row.label !== undefined ? { label: row.label } : {}),
    conversations: Number(row.conversations),
    byStatus: [Number(row.open), Number(row.resolved), Number(row.pending), Number(row.snoozed)] as const,
    chatDuration: distributionFromRow(row.cd_count, row.cd_sum, row.cd_max, row.cd_p),
    firstResponse: firstResponse ? distributionFromRow(row.fr_count!, row.fr_sum ?? null, row.fr_max ?? null, row.fr_p ?? null) : null,
  }))
}

/** The periods' starts as database text, the first moved up to the range's start (nothing is before it; and a local midnight before 0001-01-01 is no PostgreSQL timestamp). */
function periodStartsText(scope: ConversationScope, starts: readonly number[]): string[] {
  const from = scope.createdFrom.getTime()
  return starts.map((start, index) => toDbTimestamp(new Date(index === 0 ? Math.max(start, from) : start)))
}

function distributionFromRow(count: number | string, sum: number | string | null, max: number | string | null, percentiles: number[] | null): Distribution {
  return { count: Number(count), sum: sum === null ? 0 : Number(sum), max: max === null ? null : Number(max), percentiles: percentiles && percentiles.map(Number) }
}

/** A conversation as the aggregation here reads it. */
interface Facts {
  readonly id: number
  readonly accountId: number
  readonly status: number
  readonly assignee: { readonly id: number; readonly name: string } | null
  readonly createdAt: Date
  readonly chatDuration: number | null
  readonly firstResponse: number | null
}

/**
 * Each conversation of the scope read as the rows endpoint reads it (its attributes parsed by the
 * same rule), its labels by the same query, then grouped here.
 */
async function aggregatedHere(connection: Connection, scope: ConversationScope, shape: MetricsShape): Promise<MetricsGroup[]> {
  const { grouping, firstResponse, periodStarts } = shape
  const rows = await scoped(connection, scope)
    .leftJoin('users as u', 'u.id', 'conversations.assignee_id')
    .select([
      'conversations.id as id',
      'conversations.account_id as account_id',
      'conversations.status as status',
      'conversations.created_at as created_at',
      'conversations.additional_attributes as additional_attributes',
      'u.id as assignee_id',
      'u.name as assignee_name',
      ...(firstResponse ? [sql<string | null>`${sql.ref(`conversations.${FIRST_REPLY_COLUMN}`)}`.as('first_reply_at')] : []),
    ])
    .execute()
  const facts: Facts[] = rows.map((row) => {
    const createdAt = parseDatabaseTimestamp(String(row.created_at))
    if (createdAt === null) throw new Error(`unreadable timestamp in conversations: ${JSON.stringify(row.created_at)}`)
    const attributes = asObject(parseJson(row.additional_attributes))
    const firstReplyText = (row as { first_reply_at?: string | null }).first_reply_at
    const firstReply = firstReplyText === null || firstReplyText === undefined ? null : parseDatabaseTimestamp(String(firstReplyText))
    return {
      id: Number(row.id),
      accountId: Number(row.account_id),
      status: Number(row.status),
      assignee: row.assignee_id === null ? null : { id: Number(row.assignee_id), name: row.assignee_name ?? '' },
      createdAt,
      chatDuration: chatDuration(parseAttributeTime(attributes.resolved_time), parseAttributeTime(attributes.reopen_time), createdAt),
      firstResponse: firstReply === null ? null : wholeSeconds(firstReply) - wholeSeconds(createdAt),
    }
  })
  const labels = grouping.dimensions.includes('label') ? await findLabels(connection, facts.map((fact) => fact.id)) : new Map<number, string[]>()
  return groupFacts(facts, labels, grouping, periodStarts, firstResponse).slice(0, shape.limit)
}

interface Accumulator {
  readonly group: Omit<MetricsGroup, 'conversations' | 'byStatus' | 'chatDuration' | 'firstResponse'>
  conversations: number
  readonly byStatus: [number, number, number, number]
  readonly chat: number[]
  readonly first: number[]
}

function groupFacts(facts: readonly Facts[], labels: ReadonlyMap<number, string[]>, grouping: Grouping, periodStarts: readonly number[], firstResponse: boolean): MetricsGroup[] {
  const asked = new Set(grouping.dimensions)
  const groups = new Map<string, Accumulator>()
  for (const fact of facts) {
    const period = grouping.period ? periodOf(periodStarts, fact.createdAt.getTime()) : undefined
    // A label tagged twice counts once; a conversation without labels is in the group label: null.
    const names = asked.has('label') ? [...new Set(labels.get(fact.id) ?? [])] : [undefined]
    for (const label of names.length > 0 ? names : [null]) {
      const group = {
        ...(period !== undefined ? { period } : {}),
        ...(asked.has('account') ? { accountId: fact.accountId } : {}),
        ...(asked.has('assignee') ? { assignee: fact.assignee } : {}),
        ...(asked.has('status') ? { status: statusGroup(fact.status) } : {}),
        ...(label !== undefined ? { label } : {}),
      }
      const key = JSON.stringify([group.period, group.accountId, group.assignee?.id, group.status, group.label])
      let accumulator = groups.get(key)
      if (!accumulator) groups.set(key, (accumulator = { group, conversations: 0, byStatus: [0, 0, 0, 0], chat: [], first: [] }))
      accumulator.conversations++
      if (fact.status >= 0 && fact.status <= 3) accumulator.byStatus[fact.status as 0 | 1 | 2 | 3]++
      if (fact.chatDuration !== null) accumulator.chat.push(fact.chatDuration)
      if (fact.firstResponse !== null) accumulator.first.push(fact.firstResponse)
    }
  }
  return [...groups.values()].map(({ group, conversations, byStatus, chat, first }) => ({
    ...group,
    conversations,
    byStatus,
    chatDuration: distributionOf(chat),
    firstResponse: firstResponse ? distributionOf(first) : null,
  }))
}

/** The index of the last period start at or before `at` (starts ascending; the first start is at or before every row). */
function periodOf(starts: readonly number[], at: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= at) lo = mid
    else hi = mid - 1
  }
  return lo
}
