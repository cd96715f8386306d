// What the benchmark's tables share: the data they measure (a throwaway PostgreSQL seeded by one
// generator), the service's endpoint as the benchmark calls it, timings, and the peer (what a
// straightforward implementation sends). The main table is scripts/bench.ts, the growth table
// scripts/bench-growth.ts.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import * as repository from '../src/kpi/conversations.repository.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startThrowawayPostgres } from './postgres.ts'
import { seedBenchmark } from './bench-seed.ts'
import { cpuMilliseconds, parentPid } from './load.ts'
import { progress as showProgress, say, type Progress } from './progress.ts'

export const DAY = 86_400

/** What the generator makes, the same for the main table and every size of the growth table. */
export interface BenchData {
  readonly accounts: number
  /** Accounts 1 to `vbet` are the VBET accounts. */
  readonly vbet: number
  readonly days: number
  /** "Now" for the data: the start of today, so the service's default range (to the end of today) holds it all. */
  readonly anchor: Date
}

export const vbetIdsOf = (data: BenchData) => Array.from({ length: data.vbet }, (_, index) => index + 1)
export const anchorSecondsOf = (data: BenchData) => data.anchor.getTime() / 1000

export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
export const round = (value: number, digits = 1) => Number(value.toFixed(digits))

/**
 * p50 and p99 of `work`. Each call gets an index never given before in the run, which callers add
 * to `until` (seconds later, past the data): every request is then a new scope, so the service's
 * count cache never answers and the service does the same work as the baseline.
 */
let unique = 0 // across every measurement of the run: no two requests share a scope
export async function timings(samples: number, work: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(10, samples); i++) await work(++unique) // warm caches and connections
  const durations: number[] = []
  for (let i = 0; i < samples; i++) durations.push(await timed(work, ++unique))
  return percentiles(durations)
}

/**
 * p50 and p99 of `a` and of `b`, sampled in pairs (a then b, then b then a, …), indexes as in
 * timings: a drift of this machine's speed while they are measured falls on both sides alike.
 */
export async function pairedTimings(samples: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>) {
  const { a: first, b: second } = await rotatingTimings(samples, { a, b })
  return { a: first!, b: second! }
}

/**
 * p50 and p99 of each side, sampled in turns whose order rotates from one sample to the next (a b c,
 * b c a, c a b, …), indexes as in timings; ten turns first, unmeasured. A side may be synchronous
 * (a replay that blocks while it runs).
 */
export async function rotatingTimings<Side extends string>(samples: number, sides: Record<Side, (i: number) => unknown>): Promise<Record<Side, Percentiles>> {
  const names = Object.keys(sides) as Side[]
  for (let i = 0; i < Math.min(10, samples); i++) for (const name of names) await sides[name](++unique)
  const durations = Object.fromEntries(names.map((name) => [name, [] as number[]])) as unknown as Record<Side, number[]>
  for (let i = 0; i < samples; i++) {
    const turn = [...names.slice(i % names.length), ...names.slice(0, i % names.length)]
    for (const name of i % 2 === 0 ? turn : turn.reverse()) durations[name].push(await timed(sides[name], ++unique))
  }
  return Object.fromEntries(names.map((name) => [name, percentiles(durations[name])])) as Record<Side, Percentiles>
}

export interface Percentiles {
  readonly p50: number
  readonly p99: number
}

export const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
/** `low–high` of `values`, rounded. */
export const spread = (values: readonly number[], digits = 2) => `${round(Math.min(...values), digits)}–${round(Math.max(...values), digits)}`

/** The 1-minute load average now (Linux): which load a figure was measured under. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

async function timed(work: (i: number) => unknown, i: number): Promise<number> {
  const started = performance.now()
  await work(i)
  return performance.now() - started
}

export function percentiles(durations: number[]): Percentiles {
  const sorted = [...durations].sort((x, y) => x - y)
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }
}

/** A seed's progress callback: a bar on a terminal (scripts/progress.ts), nothing elsewhere. */
export function progress(label: string): (done: number, total: number) => void {
  let bar: Progress | undefined
  return (done, total) => {
    ;(bar ??= showProgress(label, total)).update(done)
    if (done === total) bar.end()
  }
}

/**
 * The CPU time a throwaway server has used, in ms: its postmaster and every process it started,
 * running (the pool's backends) or ended (a psql COPY's backend, counted by the postmaster).
 */
export function serverCpuMilliseconds(server: { readonly dataDir: string }): number {
  const postmaster = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  let total = cpuMilliseconds(postmaster, { ended: true })
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || parentPid(Number(entry)) !== postmaster) continue
    try {
      total += cpuMilliseconds(Number(entry))
    } catch {
      // Ended between the two reads: the postmaster counts it from now on.
    }
  }
  return total
}

export const toDbText = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '')

/**
 * A throwaway server seeded with `conversations` (set-based), its visibility map set: ready to be
 * measured. Stopped by the caller.
 */
export async function preparedDatabase(conversations: number, data: BenchData) {
  // autovacuum off: its ANALYZE after the bulk load holds a snapshot that keeps our VACUUM from
  // setting the visibility map, and it would compete with the measurements.
  const server = await startThrowawayPostgres({ settings: { shared_buffers: '1GB', work_mem: '64MB', effective_cache_size: '4GB', max_connections: 200, autovacuum: 'off' } })
  try {
    const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 3_600_000 }, { readonly: false })
    await migrateToLatest(writer)
    const seedStarted = performance.now()
    await seedBenchmark(writer.db, { conversations, accounts: data.accounts, vbetAccounts: data.vbet, days: data.days, anchor: data.anchor, onProgress: progress(`seeding ${conversations}`) })
    // FREEZE sets the visibility map right away (a plain VACUUM after a bulk load left it unset here),
    // as autovacuum does over time on a real table: index-only scans then skip the heap.
    await sql`vacuum (freeze, analyze)`.execute(writer.db)
    // Index-only scans skip the heap only for pages marked all-visible; a VACUUM that ran while some
    // snapshot was still open leaves pages unmarked (seen here: the deep page 3× slower). Check, and
    // vacuum again until the table is marked.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const { rows: [marked] } = await sql<{ visible: number; pages: number }>`select relallvisible as visible, relpages as pages from pg_class where relname = 'conversations'`.execute(writer.db)
      if (marked!.pages > 0 && marked!.visible >= marked!.pages * 0.99) break
      say(`visibility map: ${marked!.visible} of ${marked!.pages} pages marked; vacuuming again`)
      await Bun.sleep(1000)
      await sql`vacuum (freeze, analyze) conversations`.execute(writer.db)
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000
    const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(writer.db)).rows[0]!.v
    await writer.destroy()
    return { server, seedSeconds, pgVersion }
  } catch (error) {
    await server.stop()
    throw error
  }
}

/** GET of the endpoint with the demo token; the body as JSON, or throws on another status than 200. */
export function endpointOf(serviceUrl: string) {
  const base = `${serviceUrl}/api/v1/kpi/conversations`
  const fetchOk = async (query: Record<string, number | string>) => {
    const response = await fetch(`${base}?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`, { headers: { api_access_token: DEMO_TOKEN } })
    if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`)
    return response
  }
  const get = async (query: Record<string, number | string>) => (await fetchOk(query)).json() as Promise<any>
  /** A streamed export read to its end: seconds and lines (the CSV header is a line). */
  const download = async (query: Record<string, number | string>) => {
    const started = performance.now()
    const response = await fetchOk(query)
    let lines = 0
    const reader = response.body!.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const bytes = chunk.value
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++
    }
    return { seconds: (performance.now() - started) / 1000, lines }
  }
  return { base, get, download }
}

/**
 * The peer: what a straightforward implementation sends for a page, the way an ORM-backed
 * controller does it, through the same driver (pg, via Kysely), one statement after the other: the
 * token's owner and the allowlist (as the service), the count, the page as one joined
 * `ORDER BY … LIMIT … OFFSET` over `account_id IN (…)`, then the page's labels. SQL only: no JSON,
 * no HTTP, so service ÷ peer flatters the peer.
 */
export async function peerPage(connection: Connection, query: { accountIds: readonly number[]; since: number; until: number; pageSize: number; page: number }) {
  await repository.findTokenOwner(connection, DEMO_TOKEN)
  await repository.findVbetAccountIdsConfig(connection)
  const from = toDbText(new Date(query.since * 1000))
  const before = toDbText(new Date((query.until + 1) * 1000))
  const where = sql`c.account_id in (${sql.join(query.accountIds)}) and c.created_at >= ${from} and c.created_at < ${before}`
  await sql`select count(*) from conversations c where ${where}`.execute(connection.db)
  const { rows } = await sql<{ id: number }>`select c.id, c.display_id, c.account_id, c.created_at, c.status, c.additional_attributes,
      u.id as assignee_id, u.name as assignee_name, u.email as assignee_email, ct.id as contact_id, ct.identifier as contact_identifier
    from conversations c left join users u on u.id = c.assignee_id left join contacts ct on ct.id = c.contact_id
    where ${where} order by c.created_at, c.id limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`.execute(connection.db)
  if (rows.length > 0) {
    await sql`select tg.taggable_id, t.name from taggings tg join tags t on t.id = tg.tag_id
      where tg.taggable_type = 'Conversation' and tg.context = 'labels' and tg.taggable_id in (${sql.join(rows.map((row) => row.id))})
      order by tg.taggable_id, tg.id`.execute(connection.db)
  }
  return rows.length
}

/** The peer's export: its pages of 1000, one after the other, until one comes back short. */
export async function peerExport(connection: Connection, accountIds: readonly number[], range: { since: number; until: number }) {
  const started = performance.now()
  let rows = 0
  for (let page = 1; ; page++) {
    const got = await peerPage(connection, { accountIds, ...range, pageSize: 1000, page })
    rows += got
    if (got < 1000) break
  }
  return { seconds: (performance.now() - started) / 1000, rows }
}
