// The metrics as CSV, for a spreadsheet: the same rows flat (chat_duration_p50, …), written with
// the rows endpoint's CSV conventions (conversations.export.ts: a UTF-8 byte-order mark, CRLF,
// RFC 4180 quoting, nulls empty). Small by construction (at most MAX_ROWS rows), so written whole.
import { csvNumber, csvText } from './conversations.export.ts'
import type { MetricsPage, MetricsRow, Stats } from './metrics.model.ts'
import type { Grouping } from './metrics.rules.ts'

/** The key columns, in the API's order; a CSV has those the request asked for. */
const KEY_COLUMNS = ['period_start', 'account_id', 'assignee_id', 'assignee_name', 'status', 'label'] as const
const COUNT_COLUMNS = ['conversations', 'resolved', 'open', 'pending', 'snoozed'] as const
const STATISTICS = ['count', 'mean', 'p50', 'p90', 'p95', 'max'] as const
const MEASURES = ['chat_duration', 'first_response'] as const

/** Which key columns a grouping has. */
function keyColumns(grouping: Grouping): Array<(typeof KEY_COLUMNS)[number]> {
  const asked = new Set<string>(grouping.keys)
  return KEY_COLUMNS.filter((column) => {
    if (column === 'period_start') return grouping.period !== undefined
    if (column === 'account_id') return asked.has('account')
    if (column === 'assignee_id' || column === 'assignee_name') return asked.has('assignee')
    return asked.has(column)
  })
}

/** The header of a grouping's CSV. */
export function metricsCsvColumns(grouping: Grouping): string[] {
  return [...keyColumns(grouping), ...COUNT_COLUMNS, ...MEASURES.flatMap((measure) => STATISTICS.map((statistic) => `${measure}_${statistic}`))]
}

function field(value: string | number | null | undefined): string {
  return typeof value === 'number' ? csvNumber(value) : csvText(value ?? null)
}

function csvLine(grouping: Grouping, row: MetricsRow): string {
  const keys = keyColumns(grouping).map((column) => field(row[column]))
  const counts = COUNT_COLUMNS.map((column) => field(row[column]))
  const statistics = MEASURES.flatMap((measure) => {
    const stats: Stats | null = row[measure]
    return STATISTICS.map((statistic) => field(stats === null ? null : stats[statistic]))
  })
  return [...keys, ...counts, ...statistics].join(',')
}

/** The page as CSV text: byte-order mark, header, one line a row, each ended by CRLF. */
export function metricsCsv(grouping: Grouping, page: MetricsPage): string {
  return `\uFEFF${[metricsCsvColumns(grouping).join(','), ...page.payload.map((row) => csvLine(grouping, row))].map((line) => `${line}\r\n`).join('')}`
}
