// What the metrics must say, recomputed from the rows endpoint's payload the straightforward way
// an integrator would: each conversation's local date by Intl.DateTimeFormat (not the service's
// Temporal), grouped in a Map, every period of the range listed by walking local dates. Only the
// arithmetic of a statistic (sort, percentile_cont, rounding) is the service's own
// (src/kpi/metrics.stats.ts), which spec/kpi/metrics.agrees.spec.ts proves equal to PostgreSQL's.
import { distributionOf, statsOf, type Stats } from '../../src/kpi/metrics.stats.ts'
import type { ConversationItem } from '../../src/kpi/conversations.rules.ts'

export interface Recompute {
  readonly since: number
  readonly until: number
  readonly timeZone: string
  readonly groupBy: readonly string[]
  /** A conversation's first response in whole seconds (null when not set); absent when the column is unknown (first_response null). */
  readonly firstResponse?: (id: number) => number | null
}

/** A metrics row with period_start as its local date (YYYY-MM-DD): comparable to recomputed rows. */
export type ComparableRow = Record<string, unknown>

const STATUS_ORDER = ['open', 'resolved', 'pending', 'snoozed', 'unknown']
const PERIODS = ['day', 'week', 'month']

const formatters = new Map<string, Intl.DateTimeFormat>()
const dates = new Map<string, string>()
/** The local date (YYYY-MM-DD) of Unix seconds in a zone (remembered: a 100,000-row data set asks again per grouping). */
export function localDate(seconds: number, timeZone: string): string {
  const key = `${timeZone}|${seconds}`
  const known = dates.get(key)
  if (known !== undefined) return known
  let formatter = formatters.get(timeZone)
  if (!formatter) formatters.set(timeZone, (formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })))
  const date = formatter.format(new Date(seconds * 1000))
  dates.set(key, date)
  return date
}

/** The first local date of the period (day, ISO week from Monday, month) that holds `date`. */
function periodOf(unit: string, date: string): string {
  if (unit === 'month') return `${date.slice(0, 8)}01`
  if (unit === 'day') return date
  const utc = new Date(`${date}T00:00:00Z`)
  utc.setUTCDate(utc.getUTCDate() - ((utc.getUTCDay() + 6) % 7))
  return utc.toISOString().slice(0, 10)
}

function nextPeriod(unit: string, date: string): string {
  const utc = new Date(`${date}T00:00:00Z`)
  if (unit === 'month') utc.setUTCMonth(utc.getUTCMonth() + 1)
  else utc.setUTCDate(utc.getUTCDate() + (unit === 'week' ? 7 : 1))
  return utc.toISOString().slice(0, 10)
}

const seconds = (iso: string) => Date.parse(iso) / 1000

function compareNullsLast(a: unknown, b: unknown, compare: (a: any, b: any) => number): number {
  if (a === null) return b === null ? 0 : 1
  if (b === null) return -1
  return compare(a, b)
}

const byKey: Record<string, (a: ComparableRow, b: ComparableRow) => number> = {
  period: (a, b) => String(a.period_start).localeCompare(String(b.period_start)),
  account: (a, b) => compareNullsLast(a.account_id, b.account_id, (x, y) => x - y),
  assignee: (a, b) => compareNullsLast(a.assignee_id, b.assignee_id, (x, y) => x - y),
  status: (a, b) => STATUS_ORDER.indexOf(String(a.status)) - STATUS_ORDER.indexOf(String(b.status)),
  label: (a, b) => compareNullsLast(a.label, b.label, (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
}

/** A recomputed group: its keys (period_start as a local date) and its conversations. */
export interface RecomputedGroup {
  readonly keys: ComparableRow
  readonly members: readonly ConversationItem[]
}

/** The groups the metrics must answer for these conversations (the rows endpoint's payload for the same since/until/account_id), in order. */
export function recomputeGroups(items: readonly ConversationItem[], options: Recompute): RecomputedGroup[] {
  const unit = options.groupBy.find((key) => PERIODS.includes(key))
  const dimensions = options.groupBy.filter((key) => !PERIODS.includes(key))
  const groups = new Map<string, RecomputedGroup & { members: ConversationItem[] }>()
  const combinations = new Map<string, ComparableRow>()
  for (const item of items) {
    const labels = dimensions.includes('label') ? (item.labels.length > 0 ? [...new Set(item.labels)] : [null]) : [undefined]
    for (const label of labels) {
      const keys: ComparableRow = {}
      if (dimensions.includes('account')) keys.account_id = item.account_id
      if (dimensions.includes('assignee')) Object.assign(keys, { assignee_id: item.assignee?.id ?? null, assignee_name: item.assignee?.name ?? null })
      if (dimensions.includes('status')) keys.status = item.status
      if (label !== undefined) keys.label = label
      combinations.set(JSON.stringify(keys), keys)
      const period = unit ? periodOf(unit, localDate(seconds(item.created_time), options.timeZone)) : undefined
      const id = JSON.stringify([period, keys])
      const group = groups.get(id) ?? { keys: period ? { period_start: period, ...keys } : keys, members: [] }
      group.members.push(item)
      groups.set(id, group)
    }
  }
  const result: RecomputedGroup[] = []
  if (unit) {
    if (dimensions.length === 0 && combinations.size === 0) combinations.set('{}', {})
    const last = periodOf(unit, localDate(options.until, options.timeZone))
    for (let period = periodOf(unit, localDate(options.since, options.timeZone)); period <= last; period = nextPeriod(unit, period)) {
      for (const keys of combinations.values()) result.push({ keys: { period_start: period, ...keys }, members: groups.get(JSON.stringify([period, keys]))?.members ?? [] })
    }
  } else {
    result.push(...groups.values())
    if (dimensions.length === 0 && result.length === 0) result.push({ keys: {}, members: [] })
  }
  const order = options.groupBy.map((key) => byKey[PERIODS.includes(key) ? 'period' : key]!)
  return result.sort((a, b) => {
    for (const compare of order) {
      const found = compare(a.keys, b.keys)
      if (found !== 0) return found
    }
    return 0
  })
}

/** A group's chat_duration values and first responses (where set). */
export function valuesOf(group: RecomputedGroup, options: Pick<Recompute, 'firstResponse'>): { chat: number[]; first: number[] } {
  return {
    chat: group.members.flatMap((item) => (item.chat_duration === null ? [] : [item.chat_duration])),
    first: options.firstResponse ? group.members.flatMap((item) => options.firstResponse!(item.id) ?? []) : [],
  }
}

/** The rows the metrics must answer for these conversations, period_start as a local date. */
export function recomputeMetrics(items: readonly ConversationItem[], options: Recompute): ComparableRow[] {
  return metricsOfGroups(recomputeGroups(items, options), options)
}

/** The rows of groups recomputeGroups gave (for a caller that reads the groups too). */
export function metricsOfGroups(groups: readonly RecomputedGroup[], options: Recompute): ComparableRow[] {
  return groups.map((group) => {
    const { members } = group
    const count = (status: string) => members.filter((item) => item.status === status).length
    const stats = (values: number[]): Stats => statsOf(distributionOf(values))
    const { chat, first } = valuesOf(group, options)
    return {
      ...group.keys,
      conversations: members.length,
      resolved: count('resolved'),
      open: count('open'),
      pending: count('pending'),
      snoozed: count('snoozed'),
      chat_duration: stats(chat),
      first_response: options.firstResponse ? stats(first) : null,
    }
  })
}

/** An answer's rows as recomputeMetrics writes them: period_start as its local date. */
export function comparable(payload: readonly Record<string, unknown>[]): ComparableRow[] {
  return payload.map((row) => (typeof row.period_start === 'string' ? { ...row, period_start: row.period_start.slice(0, 10) } : { ...row }))
}
