// The growth table of BENCHMARKS.md (`bun scripts/bench.ts --growth 100000,1000000,…`): how the
// main figures grow with the table, each size seeded into a throwaway server of its own by the same
// generator as the main table, the service started on it.
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import * as repository from '../src/kpi/conversations.repository.ts'
import { createdRange } from '../src/kpi/conversations.rules.ts'
import { startService } from '../spec/service-process.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { anchorSecondsOf, DAY, endpointOf, peerPage, preparedDatabase, rotatingTimings, round, timings, vbetIdsOf, type BenchData } from './bench-kit.ts'
import { captureRequest, Replayer } from './bench-replay.ts'
import { rssMegabytes } from './load.ts'
import { getMetrics, METRICS_ZONE, metricsMonth } from './bench-metrics.ts'

const GROWTH_START = '<!-- growth -->'
const GROWTH_END = '<!-- /growth -->'

/** The growth section of a report written before (kept when this run measures no growth). */
export function growthSection(report: string): string {
  const start = report.indexOf(GROWTH_START)
  const end = report.indexOf(GROWTH_END)
  return start >= 0 && end > start ? report.slice(start, end + GROWTH_END.length) : `${GROWTH_START}\n${GROWTH_END}`
}

export interface Growth {
  readonly size: number
  readonly vbetRows: number
  readonly seedSeconds: number
  readonly page30: number
  /** The statements the service sent for that page, replayed through libpq (scripts/bench-replay.ts): its limit. */
  readonly replay30: number
  /** The same page while its count is cached: the page's own statements. */
  readonly page30Cached: number
  readonly peer30: number
  readonly pageWhole: number
  readonly peerWhole: number
  readonly deep: number
  readonly count: number
  readonly exportRowsPerSecond: number
  /** The metrics of 30 days by day and account, and of the whole range (p50). */
  readonly metrics30: number
  readonly metricsWhole: number
  readonly peakRss: number
}

/**
 * How the main figures grow with the table: `size` conversations seeded into a server of their
 * own, the service started on it, a few samples of each (p50), the whole range exported once.
 */
export async function measureGrowth(size: number, data: BenchData): Promise<Growth> {
  const { server, seedSeconds } = await preparedDatabase(size, data)
  const vbetIds = vbetIdsOf(data)
  const anchorSeconds = anchorSecondsOf(data)
  let service: Awaited<ReturnType<typeof startService>> | undefined
  let direct: Connection | undefined
  try {
    // The count cache on (a column shows the page with its count cached); the token and page-end
    // caches off, so the 30-day page reads what its replay replays.
    service = await startService({ DATABASE_URL: server.url, DB_POOL_SIZE: '10', DB_STATEMENT_TIMEOUT_MS: '600000', RATE_LIMIT_PER_MINUTE: '0', TOKEN_CACHE_TTL_MS: '0', PAGE_BOUNDARY_TTL_MS: '0' })
    direct = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 }, { readonly: true })
    const { get, download } = endpointOf(service.url)
    const rss: number[] = []
    const pid = service.pid
    const sampler = setInterval(() => rss.push(rssMegabytes(pid)), 100)
    const month = { since: anchorSeconds - 45 * DAY, until: anchorSeconds - 15 * DAY - 1 }
    const whole = { since: 0, until: anchorSeconds + DAY - 1 }
    // Warmed first (the service's JIT), then the page and the replay of its statements in turns.
    for (let i = 0; i < 100; i++) await get({ ...month, until: month.until + i, page_size: 20 })
    const stages = await captureRequest(server.url, DEMO_TOKEN, `/api/v1/kpi/conversations?since=${month.since}&until=${month.until}&page_size=20`)
    const replayer = new Replayer(server.url, 2)
    const { service: page30, replay: replay30 } = await rotatingTimings(20, {
      service: (i) => get({ ...month, until: month.until + 1000 + i, page_size: 20 }),
      replay: () => replayer.run(stages),
    }).finally(() => replayer.close())
    // One scope asked again and again: its count comes from the cache after the first.
    const page30Cached = await timings(20, () => get({ ...month, page_size: 20 }))
    const peer30 = await timings(5, (i) => peerPage(direct!, { accountIds: vbetIds, ...month, until: month.until + i, pageSize: 20, page: 1 }))
    const pageWhole = await timings(5, (i) => get({ ...whole, until: whole.until + i, page_size: 20 }))
    const peerWhole = await timings(3, (i) => peerPage(direct!, { accountIds: vbetIds, ...whole, until: whole.until + i, pageSize: 20, page: 1 }))
    const vbetRows = (await get({ ...whole, page_size: 1 })).meta.items_count as number
    const deep = await timings(3, (i) => get({ ...whole, until: whole.until + i, page_size: 1000, page: Math.ceil(vbetRows / 1000) }))
    const count = await timings(3, (i) => repository.countConversations(direct!, { accountIds: vbetIds, ...createdRange(whole.since, whole.until + i) }))
    const metricsQuery = { ...metricsMonth(data), group_by: 'day,account', time_zone: METRICS_ZONE }
    const metrics30 = await timings(5, () => getMetrics(service!.url, metricsQuery))
    const metricsWhole = await timings(3, () => getMetrics(service!.url, { since: anchorSeconds - data.days * DAY, until: anchorSeconds - 1, group_by: 'day,account', time_zone: METRICS_ZONE }))
    const csv = await download({ ...whole, format: 'csv' })
    clearInterval(sampler)
    if (csv.lines - 1 !== vbetRows) throw new Error(`growth ${size}: the export has ${csv.lines - 1} rows, the range ${vbetRows}`)
    return {
      size,
      vbetRows,
      seedSeconds,
      page30: page30.p50,
      replay30: replay30.p50,
      page30Cached: page30Cached.p50,
      peer30: peer30.p50,
      pageWhole: pageWhole.p50,
      peerWhole: peerWhole.p50,
      deep: deep.p50,
      count: count.p50,
      exportRowsPerSecond: vbetRows / csv.seconds,
      metrics30: metrics30.p50,
      metricsWhole: metricsWhole.p50,
      peakRss: Math.max(...rss),
    }
  } finally {
    await service?.stop()
    await direct?.destroy()
    await server.stop()
  }
}

export function growthTable(measured: readonly Growth[], data: BenchData): string {
  const ms = (value: number) => `${round(value, value < 10 ? 1 : 0)} ms`
  const lines = measured.map(
    (g) =>
      `| ${g.size.toLocaleString('en')} | ${g.vbetRows.toLocaleString('en')} | ${Math.round((g.vbetRows * 30) / data.days).toLocaleString('en')} | ${round(g.seedSeconds, 0)} s | ${ms(g.page30)} | ${ms(g.replay30)} (${round(g.page30 / g.replay30, 2)}) | ${ms(g.page30Cached)} | ${ms(g.peer30)} | ${ms(g.pageWhole)} | ${ms(g.peerWhole)} | ${ms(g.deep)} | ${ms(g.count)} | ${Math.round(g.exportRowsPerSecond).toLocaleString('en')} | ${ms(g.metrics30)} | ${ms(g.metricsWhole)} | ${round(g.peakRss, 0)} MB |`,
  )
  // Growth step by step (each size against the one before).
  const steps = (pick: (g: Growth) => number) =>
    measured
      .slice(1)
      .map((g, index) => `×${round(pick(g) / pick(measured[index]!), 1)}`)
      .join(' then ')
  const sizes = measured.slice(1).map((g, index) => `×${round(g.size / measured[index]!.size, 0)}`).join(' then ')
  return `${GROWTH_START}
## Growth with the table

\`bun scripts/bench.ts --growth ${measured.map((g) => g.size).join(',')}\`, on ${new Date().toISOString().slice(0, 10)}: each size seeded into a throwaway
server of its own (same generator: ${data.accounts} accounts, ${data.vbet} of them VBET, ${data.days} days), the service started on it (pool 10;
token and page-end caches off, the count cache on), p50 of a few samples each (20 for the 30-day page, in turns with the libpq
replay of the statements it sent; 3–5 for the others), the whole range exported once as CSV, the service's peak RSS over all of
it. "peer" is the straightforward SQL of the main table.

| conversations | VBET rows (whole range) | of them in 30 days | seeded in | page 1, 30 days | its statements, libpq (service ÷ it) | the same, count cached | peer | page 1, whole range | peer | deepest page (1000) | count, whole range | CSV export rows/s | metrics, 30 days by day × account | metrics, whole range by day × account | peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${lines.join('\n')}

Step by step the table grows ${sizes}: the 30-day page ${steps((g) => g.page30)} (its statements ${steps((g) => g.replay30)}; with its count cached ${steps((g) => g.page30Cached)}; its peer ${steps((g) => g.peer30)}), the whole-range page ${steps((g) => g.pageWhole)} (its peer ${steps((g) => g.peerWhole)}), the deepest page ${steps((g) => g.deep)}, the whole-range count ${steps((g) => g.count)}, export rows/s ${steps((g) => g.exportRowsPerSecond)}, the metrics of 30 days ${steps((g) => g.metrics30)} and of the whole range ${steps((g) => g.metricsWhole)}, peak RSS ${steps((g) => g.peakRss)}. The generator spreads every size over the same ${data.days} days, so a 30-day window holds as many more rows as the table: its count grows with them; the page's own statements do not.
${GROWTH_END}`
}
