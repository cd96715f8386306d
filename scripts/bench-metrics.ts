// The KPI metrics' rows of the benchmark (scripts/bench.ts calls them; the growth table takes one
// figure): a 30-day range grouped by day and account (Berlin time) against the same SQL run
// directly (the very statements the service runs, captured, replayed through pg), and against
// what a straightforward client does today: export the rows as CSV and aggregate them itself, or
// ask one query per day per metric as the platform's report builder does. And the biggest answer
// of the range (every day × every account of the whole range): its size and the service's memory.
import { CompiledQuery, sql } from 'kysely'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import { MemoryState } from '../src/state/shared-state.ts'
import { SharedCache } from '../src/state/shared-cache.ts'
import { Seal } from '../src/state/seal.ts'
import { readMetrics } from '../src/kpi/metrics.service.ts'
import { findTokenOwner } from '../src/kpi/conversations.repository.ts'
import { distributionOf, statsOf } from '../src/kpi/metrics.stats.ts'
import { periodsBetween } from '../src/kpi/metrics.periods.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { anchorSecondsOf, DAY, pairedTimings, round, timings, toDbText, vbetIdsOf, type BenchData } from './bench-kit.ts'
import { rssMegabytes } from './load.ts'

export const METRICS_ZONE = 'Europe/Berlin'

/** A row of the main table (scripts/bench.ts's Row). */
export interface MetricsBenchRow {
  what: string
  service: string
  baseline: string
  ratio: number
  peer?: string
  peerRatio?: number
  target: string
  met?: boolean
}

export interface MetricsBenchContext {
  readonly serverUrl: string
  readonly serviceUrl: string
  readonly servicePid: number
  readonly direct: Connection
  readonly data: BenchData
  readonly samples: number
  readonly addRow: (step: string, row: MetricsBenchRow) => void
}

/** The last 30 days of the data, whole local days of Berlin. */
export function metricsMonth(data: BenchData): { since: number; until: number } {
  const anchor = anchorSecondsOf(data)
  const [first] = periodsBetween('day', METRICS_ZONE, (anchor - 30 * DAY) * 1000, (anchor - 30 * DAY) * 1000)
  const [last] = periodsBetween('day', METRICS_ZONE, (anchor - 1) * 1000, (anchor - 1) * 1000)
  return { since: first!.startMs / 1000, until: last!.startMs / 1000 + DAY - 1 }
}

/** GET of the metrics endpoint; the body's text (and parsed). */
export async function getMetrics(serviceUrl: string, query: Record<string, string | number>): Promise<{ text: string; body: any }> {
  const response = await fetch(`${serviceUrl}/api/v1/kpi/conversations/metrics?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`, {
    headers: { api_access_token: DEMO_TOKEN },
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`metrics: ${response.status} ${text}`)
  return { text, body: JSON.parse(text) }
}

/**
 * The statements the service runs for one metrics request, in order (the token's owner, the
 * allowlist, the aggregate; the column check is cached, as in the service), captured from the
 * service's own code on a probe connection.
 */
async function capturedStatements(serverUrl: string, query: Record<string, string | number>): Promise<CompiledQuery[]> {
  let captured: CompiledQuery[] = []
  const probe = openDatabase(
    { dialect: 'postgres', url: serverUrl, poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 },
    { readonly: true, onQuery: (text, parameters) => captured.push(CompiledQuery.raw(text, [...parameters])) },
  )
  try {
    const deps = { connection: probe, now: () => new Date(), counts: new SharedCache<number>(new MemoryState(), 'count', 0, new Seal('bench')) }
    const asked = query as never
    await readMetrics(deps, asked, new Set(Object.keys(query)))
    captured = []
    await findTokenOwner(probe, DEMO_TOKEN)
    await readMetrics(deps, asked, new Set(Object.keys(query)))
    return captured
  } finally {
    await probe.destroy()
  }
}

/** Parses the rows export's CSV the plain way (the bench's names and labels hold no comma) and aggregates it as a client would. */
function aggregateExport(csv: string, zone: string): number {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
  const groups = new Map<string, { conversations: number; statuses: Record<string, number>; durations: number[] }>()
  const lines = csv.replace(/^\uFEFF/, '').split('\r\n')
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!
    if (line === '') continue
    const fields = line.split(',')
    const key = `${day.format(new Date(fields[3]!))}|${fields[2]}`
    let group = groups.get(key)
    if (!group) groups.set(key, (group = { conversations: 0, statuses: {}, durations: [] }))
    group.conversations++
    group.statuses[fields[6]!] = (group.statuses[fields[6]!] ?? 0) + 1
    if (fields[5] !== '') group.durations.push(Number(fields[5]))
  }
  for (const group of groups.values()) statsOf(distributionOf(group.durations))
  return groups.size
}

/**
 * The platform's report builder: one statement per day and per metric (conversations, resolved,
 * chat_duration p50 and p90, first response p50 and p90), each grouped by account, one after the
 * other. chat_duration by the plain cast a report writes (the bench's values are all clean ISO text).
 */
async function reportBuilder(direct: Connection, accountIds: readonly number[], month: { since: number; until: number }): Promise<number> {
  const days = periodsBetween('day', METRICS_ZONE, month.since * 1000, month.until * 1000)
  const chat = sql`extract(epoch from ((additional_attributes ->> 'resolved_time')::timestamptz at time zone 'UTC') - created_at)`
  const first = sql`extract(epoch from first_reply_created_at - created_at)`
  const metrics = [
    sql`count(*)`,
    sql`count(*) filter (where status = 1)`,
    sql`percentile_cont(0.5) within group (order by ${chat})`,
    sql`percentile_cont(0.9) within group (order by ${chat})`,
    sql`percentile_cont(0.5) within group (order by ${first})`,
    sql`percentile_cont(0.9) within group (order by ${first})`,
  ]
  let statements = 0
  for (const [index, period] of days.entries()) {
    const from = toDbText(new Date(period.startMs))
    const before = toDbText(new Date(index + 1 < days.length ? days[index + 1]!.startMs : (month.until + 1) * 1000))
    for (const metric of metrics) {
      await sql`select account_id, ${metric} from conversations where account_id in (${sql.join(accountIds)}) and created_at >= ${from} and created_at < ${before} group by account_id`.execute(direct.db)
      statements++
    }
  }
  return statements
}

export async function metricsBenchRows(context: MetricsBenchContext): Promise<void> {
  const { serverUrl, serviceUrl, servicePid, direct, data, samples, addRow } = context
  const month = metricsMonth(data)
  const query = { ...month, group_by: 'day,account', time_zone: METRICS_ZONE }
  const statements = await capturedStatements(serverUrl, query)
  const sameSql = async () => {
    for (const statement of statements) await direct.db.executeQuery(statement)
  }
  const service = () => getMetrics(serviceUrl, query)
  const answer = await service()
  const conversations = answer.body.payload.reduce((sum: number, row: { conversations: number }) => sum + row.conversations, 0)
  const { a: svc, b: same } = await pairedTimings(Math.max(20, Math.round(samples / 4)), service, sameSql)

  // The client's way: the rows as CSV (the service's own streamed export), then aggregated by the client.
  const exported = await timings(5, async () => {
    const response = await fetch(`${serviceUrl}/api/v1/kpi/conversations?${new URLSearchParams({ since: String(month.since), until: String(month.until), format: 'csv' })}`, {
      headers: { api_access_token: DEMO_TOKEN },
    })
    aggregateExport(await response.text(), METRICS_ZONE)
  })
  addRow('6.', {
    what: `metrics, 30 days (${conversations} conversations) by day and account (${METRICS_ZONE}), ${answer.body.meta.items_count} rows: p50 (p99)`,
    service: `${round(svc.p50)} ms (${round(svc.p99)})`,
    baseline: `${round(same.p50)} ms (${round(same.p99)}) the same ${statements.length} statements via pg`,
    ratio: round(svc.p50 / same.p50, 2),
    peer: `${round(exported.p50)} ms (${round(exported.p99)}): the rows exported as CSV, aggregated by the client (no first response: the rows do not carry it)`,
    peerRatio: round(svc.p50 / exported.p50, 2),
    target: '≤ 1.5 (÷ peer ≤ 0.2)',
    met: svc.p50 / same.p50 <= 1.5 && svc.p50 / exported.p50 <= 0.2,
  })
  const builder = await timings(3, () => reportBuilder(direct, vbetIdsOf(data), month))
  const builderStatements = periodsBetween('day', METRICS_ZONE, month.since * 1000, month.until * 1000).length * 6
  addRow('6.', {
    what: `metrics, the same 30 days, against one query per day per metric (the report builder's way: ${builderStatements} statements)`,
    service: `${round(svc.p50)} ms`,
    baseline: `${round(same.p50)} ms the same SQL`,
    ratio: round(svc.p50 / same.p50, 2),
    peer: `${round(builder.p50)} ms (${round(builder.p99)}), SQL only`,
    peerRatio: round(svc.p50 / builder.p50, 2),
    target: '÷ peer ≤ 0.2',
    met: svc.p50 / builder.p50 <= 0.2,
  })

  // The biggest answer of the data: every day × every account of the whole range.
  const whole = { since: anchorSecondsOf(data) - data.days * DAY, until: anchorSecondsOf(data) - 1, group_by: 'day,account', time_zone: METRICS_ZONE }
  const before = rssMegabytes(servicePid)
  const rss: number[] = []
  const sampler = setInterval(() => rss.push(rssMegabytes(servicePid)), 50)
  const wholeTimings = await timings(3, () => getMetrics(serviceUrl, whole))
  clearInterval(sampler)
  const big = await getMetrics(serviceUrl, whole)
  addRow('6.', {
    what: `metrics, the whole range (${data.days} days) by day and account: p50, the answer's size, the service's peak RSS while answering`,
    service: `${round(wholeTimings.p50)} ms; ${big.body.meta.items_count} rows, ${round(big.text.length / 1024)} KiB of JSON; peak RSS ${round(Math.max(before, ...rss))} MB`,
    baseline: `${round(before)} MB before`,
    ratio: round(Math.max(before, ...rss) - before, 1),
    target: '–',
  })
}
