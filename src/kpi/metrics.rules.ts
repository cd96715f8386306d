// The metrics' rules as pure functions: what group_by may say, how a conversation falls into a
// group, how groups are ordered, how a period grid is filled so a chart has no holes, and how a
// group becomes a row of the API. The repository reads groups; these decide what is shown.
import { ValidationError } from '../errors.ts'
import { STATUS_WORDS, UNKNOWN_STATUS, type StatusWord } from './conversations.rules.ts'
import { PERIOD_UNITS, type Period, type PeriodUnit } from './metrics.periods.ts'
import { EMPTY_DISTRIBUTION, statsOf, type Distribution, type Stats } from './metrics.stats.ts'

export const DIMENSIONS = ['account', 'assignee', 'status', 'label'] as const
export type Dimension = (typeof DIMENSIONS)[number]
export type GroupKey = PeriodUnit | Dimension
export const GROUP_KEYS: readonly GroupKey[] = [...PERIOD_UNITS, ...DIMENSIONS]

/** More rows than this is a 422: the answer is for a chart or a spreadsheet, not a dump. */
export const MAX_ROWS = 10_000

export const GROUP_BY_RULE = `group_by must be a comma-separated list of ${GROUP_KEYS.join(', ')}: each at most once, at most one of day, week, month`

/** What a request groups by: the keys in the order asked, and which of them is the period. */
export interface Grouping {
  readonly keys: readonly GroupKey[]
  readonly period: PeriodUnit | undefined
  /** The keys that are not the period, in the order asked. */
  readonly dimensions: readonly Dimension[]
}

/**
 * group_by as given: comma-separated, spaces around a key ignored; empty for one row over the range.
 * @throws {ValidationError} for an unknown key, an empty item, a key given twice, or two periods.
 */
export function parseGroupBy(text: string | undefined): Grouping {
  const keys: GroupKey[] = []
  const items = (text ?? '').trim() === '' ? [] : (text ?? '').split(',').map((item) => item.trim())
  for (const item of items) {
    if (!(GROUP_KEYS as readonly string[]).includes(item) || keys.includes(item as GroupKey)) throw new ValidationError(GROUP_BY_RULE)
    keys.push(item as GroupKey)
  }
  const periods = keys.filter((key): key is PeriodUnit => (PERIOD_UNITS as readonly string[]).includes(key))
  if (periods.length > 1) throw new ValidationError(GROUP_BY_RULE)
  return { keys, period: periods[0], dimensions: keys.filter((key): key is Dimension => (DIMENSIONS as readonly string[]).includes(key)) }
}

/** Status codes as the metrics group them: 0–3 as the platform defines them, anything else one group, 4. */
export const UNKNOWN_STATUS_GROUP = 4

/** The status group of a conversation's code. */
export function statusGroup(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= 3 ? code : UNKNOWN_STATUS_GROUP
}

/** One group as the repository reads it (sparse: only groups that hold conversations). */
export interface MetricsGroup {
  /** Index into the request's periods (when a period is asked). */
  readonly period?: number
  readonly accountId?: number
  /** The assignee as the rows endpoint shows it, or null (unassigned, or an id that points at no user). */
  readonly assignee?: { readonly id: number; readonly name: string } | null
  /** statusGroup of the conversations' status. */
  readonly status?: number
  /** A label name, or null for conversations without labels. */
  readonly label?: string | null
  readonly conversations: number
  /** Conversations by status code 0–3 (open, resolved, pending, snoozed). */
  readonly byStatus: readonly [number, number, number, number]
  readonly chatDuration: Distribution
  /** Null when the database has no conversations.first_reply_created_at. */
  readonly firstResponse: Distribution | null
}

/** A row of the API's payload. */
export interface MetricsRow {
  period_start?: string
  account_id?: number
  assignee_id?: number | null
  assignee_name?: string | null
  status?: StatusWord
  label?: string | null
  conversations: number
  resolved: number
  open: number
  pending: number
  snoozed: number
  chat_duration: Stats
  first_response: Stats | null
}

/** Label names in byte order of their UTF-8 (code point order; JavaScript's `<` compares UTF-16 units). */
export function compareLabels(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** Nulls last; otherwise `compare`. */
function nullsLast<T>(a: T | null | undefined, b: T | null | undefined, compare: (a: T, b: T) => number): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1
  if (b === null || b === undefined) return -1
  return compare(a, b)
}

const byNumber = (a: number, b: number) => a - b

/** How two groups compare on one key. */
function compareOn(key: GroupKey, a: MetricsGroup, b: MetricsGroup): number {
  switch (key) {
    case 'account':
      return nullsLast(a.accountId, b.accountId, byNumber)
    case 'assignee':
      return nullsLast(a.assignee?.id, b.assignee?.id, byNumber)
    case 'status':
      return nullsLast(a.status, b.status, byNumber)
    case 'label':
      return nullsLast(a.label, b.label, compareLabels)
    default:
      return nullsLast(a.period, b.period, byNumber)
  }
}

/** The identity of a group's dimensions (not its period), as a map key. */
function dimensionsKey(grouping: Grouping, group: MetricsGroup): string {
  return JSON.stringify(grouping.dimensions.map((dimension) => (dimension === 'account' ? group.accountId : dimension === 'assignee' ? (group.assignee?.id ?? null) : group[dimension])))
}

/** How many rows `groups` make once the period grid is filled: periods × the combinations of the other keys that occur. */
export function filledRowCount(grouping: Grouping, periods: number, groups: readonly MetricsGroup[]): number {
  if (!grouping.period) return groups.length
  if (grouping.dimensions.length === 0) return periods
  return periods * new Set(groups.map((group) => dimensionsKey(grouping, group))).size
}

/**
 * The groups of the answer, in its order: when a period is asked, every period × every combination
 * of the other keys that occurs (missing cells as zero groups), so a chart has no holes; then
 * ordered by the keys in the order asked (periods ascending, ids ascending, statuses in code order,
 * labels in byte order, nulls last).
 */
export function fillAndOrder(grouping: Grouping, periods: number, groups: readonly MetricsGroup[], firstResponseKnown: boolean): MetricsGroup[] {
  let all = [...groups]
  if (grouping.period) {
    const present = new Map<string, MetricsGroup>()
    const combinations = new Map<string, MetricsGroup>()
    for (const group of groups) {
      const key = dimensionsKey(grouping, group)
      present.set(`${group.period}|${key}`, group)
      if (!combinations.has(key)) combinations.set(key, group)
    }
    if (grouping.dimensions.length === 0 && combinations.size === 0) combinations.set('[]', emptyGroup({}, firstResponseKnown))
    all = []
    for (let period = 0; period < periods; period++) {
      for (const [key, sample] of combinations) {
        all.push(present.get(`${period}|${key}`) ?? emptyGroup({ ...dimensionsOf(sample), period }, firstResponseKnown))
      }
    }
  }
  return all.sort((a, b) => {
    for (const key of grouping.keys) {
      const order = compareOn(key, a, b)
      if (order !== 0) return order
    }
    return 0
  })
}

function dimensionsOf(group: MetricsGroup): Partial<MetricsGroup> {
  const { accountId, assignee, status, label } = group
  return { accountId, assignee, status, label }
}

/** A group with no conversation in it. */
export function emptyGroup(keys: Partial<MetricsGroup>, firstResponseKnown: boolean): MetricsGroup {
  return { ...keys, conversations: 0, byStatus: [0, 0, 0, 0], chatDuration: EMPTY_DISTRIBUTION, firstResponse: firstResponseKnown ? EMPTY_DISTRIBUTION : null }
}

/** A group as a row of the API: the asked keys (in the API's column order), then the counts and statistics. */
export function toMetricsRow(grouping: Grouping, periods: readonly Period[], group: MetricsGroup): MetricsRow {
  const row: Partial<MetricsRow> = {}
  const asked = new Set<GroupKey>(grouping.keys)
  if (grouping.period) row.period_start = periods[group.period!]!.label
  if (asked.has('account')) row.account_id = group.accountId!
  if (asked.has('assignee')) {
    row.assignee_id = group.assignee?.id ?? null
    row.assignee_name = group.assignee?.name ?? null
  }
  if (asked.has('status')) row.status = group.status! < UNKNOWN_STATUS_GROUP ? STATUS_WORDS[group.status!]! : UNKNOWN_STATUS
  if (asked.has('label')) row.label = group.label ?? null
  const [open, resolved, pending, snoozed] = group.byStatus
  return {
    ...row,
    conversations: group.conversations,
    resolved,
    open,
    pending,
    snoozed,
    chat_duration: statsOf(group.chatDuration),
    first_response: group.firstResponse ? statsOf(group.firstResponse) : null,
  }
}
