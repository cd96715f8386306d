// The metrics' use case: resolve the request (range, time zone, grouping, accounts) exactly as the
// rows endpoint resolves its own, read the groups, fill the period grid and answer the rows.
// Knows nothing of HTTP.
import { ValidationError } from '../errors.ts'
import type { ConversationScope } from './conversations.repository.ts'
import * as conversations from './conversations.repository.ts'
import { createdRange, defaultSince, defaultUntil } from './conversations.rules.ts'
import { allowedAccounts, countKey, type AllowlistRead, type KpiDeps } from './conversations.service.ts'
import type { MetricsPage, MetricsQuery } from './metrics.model.ts'
import { countPeriods, DEFAULT_TIME_ZONE, periodsBetween, resolveTimeZone, type Period } from './metrics.periods.ts'
import * as repository from './metrics.repository.ts'
import { fillAndOrder, filledRowCount, MAX_ROWS, parseGroupBy, toMetricsRow, type Grouping } from './metrics.rules.ts'

export type MetricsDeps = Pick<KpiDeps, 'connection' | 'now' | 'counts'>

/** 422: the answer would hold more than MAX_ROWS rows. */
function tooManyRows(rows: number | undefined, grouping: Grouping): ValidationError {
  const count = rows === undefined ? `more than ${MAX_ROWS.toLocaleString('en')}` : rows.toLocaleString('en')
  const coarser = grouping.period && grouping.period !== 'month' ? ` or take a coarser period (${grouping.period === 'day' ? 'week or month' : 'month'})` : ''
  const fewer = grouping.dimensions.length > 0 ? ' or group by fewer keys' : ''
  return new ValidationError(`The answer would have ${count} rows (at most ${MAX_ROWS.toLocaleString('en')}): narrow the range (since, until)${coarser}${fewer}`)
}

/** The resolved request: what the rows endpoint would read for the same since/until/account_id, and how to group it. */
export interface MetricsRequest {
  readonly since: number
  readonly until: number
  readonly timeZone: string
  readonly grouping: Grouping
  readonly scope: ConversationScope
}

/**
 * The parameters checked (422) before the allowlist is read (401), as on the rows endpoint: by
 * `allowlist`, this request's read of it while it authenticated, when it made one.
 * @throws {ValidationError} for a time zone or a group_by the API does not take.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist.
 */
export async function resolveMetricsRequest(deps: MetricsDeps, query: MetricsQuery, allowlist?: AllowlistRead): Promise<MetricsRequest> {
  const now = deps.now()
  const since = query.since ?? defaultSince(now)
  const until = query.until ?? defaultUntil(now)
  const timeZone = resolveTimeZone(query.time_zone ?? DEFAULT_TIME_ZONE)
  const grouping = parseGroupBy(query.group_by)
  const accountIds = await allowedAccounts(deps, query.account_id, allowlist)
  return { since, until, timeZone, grouping, scope: { accountIds, ...createdRange(since, until) } }
}

/**
 * The metrics of a request: one row per group (per period × combination of the other keys that
 * occurs, when a period is asked), ordered by the keys as asked.
 * @throws {ValidationError} for bad parameters, or when the answer would exceed MAX_ROWS rows.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist.
 */
export async function readMetrics(
  deps: MetricsDeps,
  query: MetricsQuery,
  given: ReadonlySet<string> = new Set(Object.keys(query)),
  allowlist?: AllowlistRead,
): Promise<MetricsPage> {
  const request = await resolveMetricsRequest(deps, query, allowlist)
  const { connection } = deps
  const { grouping, scope, timeZone } = request
  const firstResponse = await repository.hasFirstReplyColumn(connection)

  let periods: Period[] = []
  if (grouping.period) {
    // Periods from the one that holds since, or, when since was not given, the first conversation's.
    const from = given.has('since') ? request.since * 1000 : (await repository.firstCreatedAt(connection, scope))?.getTime()
    if (from !== undefined) {
      const last = request.until * 1000 + 999
      const count = countPeriods(grouping.period, timeZone, from, last)
      if (count > MAX_ROWS) {
        // Every period would be a row (more still with other keys), unless the range is empty and other keys are asked.
        const empty = grouping.dimensions.length > 0 && (await deps.counts.get(countKey(scope), () => conversations.countConversations(connection, scope))) === 0
        if (!empty) throw tooManyRows(grouping.dimensions.length === 0 ? count : undefined, grouping)
      } else periods = periodsBetween(grouping.period, timeZone, from, last)
    }
  }

  const groups =
    grouping.period && periods.length === 0
      ? []
      : await repository.findMetricsGroups(connection, scope, { grouping, periodStarts: periods.map((period) => period.startMs), firstResponse, limit: MAX_ROWS + 1 })
  if (groups.length > MAX_ROWS) throw tooManyRows(undefined, grouping)
  const rows = filledRowCount(grouping, periods.length, groups)
  if (rows > MAX_ROWS) throw tooManyRows(rows, grouping)
  const payload = fillAndOrder(grouping, periods.length, groups, firstResponse).map((group) => toMetricsRow(grouping, periods, group))
  return {
    meta: { since: request.since, until: request.until, time_zone: timeZone, group_by: [...grouping.keys], items_count: payload.length },
    payload,
  }
}
