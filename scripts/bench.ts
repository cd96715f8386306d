// `bun scripts/bench.ts [--conversations 1000000] [--duration 15] [--connections 16] [--growth 100000,1000000,10000000] [--out BENCHMARKS.md]`
// The service against the database's own limit, on one machine, end to end: a throwaway PostgreSQL
// seeded set-based and deterministically, the service started as a separate process, and every
// figure measured against a baseline in the same run: the limit (the same SQL, pgbench, COPY) and
// the peer (what a straightforward implementation sends: count, a joined ORDER BY … LIMIT … OFFSET
// page, labels). Writes the table to BENCHMARKS.md; with --growth, also a table of how the main
// figures grow with the table (each size seeded into its own throwaway server).
// What both tables share (the data, the endpoint, timings, the peer) is scripts/bench-kit.ts; the
// growth table is scripts/bench-growth.ts.
import { cpus, totalmem } from 'node:os'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import * as repository from '../src/kpi/conversations.repository.ts'
import { createdRange, clampPageSize } from '../src/kpi/conversations.rules.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService } from '../spec/service-process.ts'
import { findPostgresBin } from './postgres.ts'
import {
  anchorSecondsOf,
  DAY,
  endpointOf,
  pairedTimings,
  peerExport,
  peerPage,
  preparedDatabase,
  round,
  serverCpuMilliseconds,
  timings,
  toDbText,
  vbetIdsOf,
  type BenchData,
} from './bench-kit.ts'
import { growthSection, growthTable, measureGrowth, type Growth } from './bench-growth.ts'
import { captureSection, withCaptureSection } from './bench-capture.ts'
import { metricsBenchRows } from './bench-metrics.ts'
import { cpuMilliseconds, newLoadSeed, randomQueriesLua, rssMegabytes, runWrk } from './load.ts'
import { progress, say, type Progress } from './progress.ts'

const { values: flags } = parseArgs({
  options: {
    conversations: { type: 'string', default: '1000000' },
    accounts: { type: 'string', default: '20' },
    vbet: { type: 'string', default: '10' },
    days: { type: 'string', default: '365' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '16' },
    samples: { type: 'string', default: '200' },
    growth: { type: 'string', default: '' },
    seed: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dir, '..', 'BENCHMARKS.md') },
  },
})
const N = Number(flags.conversations)
const ACCOUNTS = Number(flags.accounts)
const VBET = Number(flags.vbet)
const DAYS = Number(flags.days)
const DURATION = Number(flags.duration)
const CONNECTIONS = Number(flags.connections)
const SAMPLES = Number(flags.samples)
/** Rounds of the whole-range exports and their COPY; each export ratio is the median of the rounds' ratios. */
const EXPORT_ROUNDS = 5
/** The load's seed: another each run unless given (to replay a run); printed. */
const SEED = flags.seed === undefined ? newLoadSeed() : Number(flags.seed)
const GROWTH = flags.growth ? flags.growth.split(',').map(Number) : []
if (GROWTH.some((size) => !Number.isSafeInteger(size) || size < 1000)) throw new Error('--growth: sizes of at least 1000, comma-separated')
// "Now" for the data: the start of today, so the service's default range (to the end of today) holds it all.
const DATA: BenchData = { accounts: ACCOUNTS, vbet: VBET, days: DAYS, anchor: new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z') }
const VBET_IDS = vbetIdsOf(DATA)
const anchorSeconds = anchorSecondsOf(DATA)

function need(command: string, hint: string): string {
  const postgresBin = findPostgresBin()
  const path = Bun.which(command) ?? (postgresBin ? join(postgresBin, command) : undefined)
  if (!path || !existsSync(path)) throw new Error(`${command} not found: ${hint}`)
  return path
}
need('wrk', 'apt-get install -y wrk')
const PGBENCH = need('pgbench', 'apt-get install -y postgresql')
const PSQL = need('psql', 'apt-get install -y postgresql-client')

// Sentinel values: a request run with them is captured, and each sentinel in its parameters
// becomes a pgbench variable, so pgbench replays the service's own SQL text, statement for statement.
const SENTINEL = { account: 987_654, size: 777, offset: 7770, since: 1_234_567_890, until: 1_234_567_899 }

async function replayedStatements(url: string, accountIds: number[]): Promise<string> {
  const captured: Array<{ text: string; parameters: readonly unknown[] }> = []
  const probe = openDatabase({ dialect: 'postgres', url, poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 }, { readonly: true, onQuery: (text, parameters) => captured.push({ text, parameters }) })
  try {
    const scope = { accountIds, ...createdRange(SENTINEL.since, SENTINEL.until) }
    await repository.findTokenOwner(probe, DEMO_TOKEN)
    await repository.findVbetAccountIdsConfig(probe)
    await repository.countConversations(probe, scope)
    await repository.findPageIds(probe, scope, { sortDirection: 'asc', limit: SENTINEL.size, offset: SENTINEL.offset })
    await repository.findConversations(probe, [SENTINEL.account])
    await repository.findLabels(probe, [SENTINEL.account])
  } finally {
    await probe.destroy()
  }
  const from = toDbText(new Date(SENTINEL.since * 1000))
  const before = toDbText(new Date((SENTINEL.until + 1) * 1000))
  const variable = (value: unknown): string => {
    if (value === SENTINEL.account) return ':acc'
    if (value === SENTINEL.size) return ':size'
    if (value === SENTINEL.offset) return ':off'
    if (value === SENTINEL.size + SENTINEL.offset) return ':lim'
    if (value === from) return `'epoch'::timestamp + :since * interval '1 second'`
    if (value === before) return `'epoch'::timestamp + (:until + 1) * interval '1 second'`
    if (typeof value === 'number') return String(value)
    if (Array.isArray(value)) return `'{${value.join(',')}}'`
    return `'${String(value).replaceAll("'", "''")}'`
  }
  const substitute = ({ text, parameters }: { text: string; parameters: readonly unknown[] }) =>
    text.replace(/\$(\d+)/g, (_, n) => variable(parameters[Number(n) - 1]))
  const [token, config, count, pageIds, rows, labels] = captured.map(substitute)
  // The rows and labels statements take the page's ids (one array): here, the page ids statement itself.
  const ofPage = (statement: string) => statement.replace(/= any\('[^']*'::int4\[\]\)/, `in (select "id" from (${pageIds}) as "page_ids")`)
  return [token, config, count, pageIds, ofPage(rows!), ofPage(labels!)].map((statement) => `${statement!.replace(/\s+/g, ' ')};`).join('\n')
}

/** The peer's statements for pgbench, with the throughput run's variables (see the service's script). */
function peerStatements(accounts: string): string {
  const from = `'epoch'::timestamp + :since * interval '1 second'`
  const before = `'epoch'::timestamp + (:until + 1) * interval '1 second'`
  const where = `c.account_id in (${accounts}) and c.created_at >= ${from} and c.created_at < ${before}`
  return [
    `select count(*) from conversations c where ${where};`,
    `select c.id, c.display_id, c.account_id, c.created_at, c.status, c.additional_attributes, u.id, u.name, u.email, ct.id, ct.identifier from conversations c left join users u on u.id = c.assignee_id left join contacts ct on ct.id = c.contact_id where ${where} order by c.created_at, c.id limit :size offset :off;`,
    `select tg.taggable_id, t.name from taggings tg join tags t on t.id = tg.tag_id where tg.taggable_type = 'Conversation' and tg.context = 'labels' and tg.taggable_id in (select c.id from conversations c where ${where} order by c.created_at, c.id limit :size offset :off) order by tg.taggable_id, tg.id;`,
  ].join('\n')
}

/** pgbench -M prepared of `body` with the throughput run's random variables: transactions per second. */
function pgbenchTps(url: string, body: string, workDir: string, name: string): number {
  const script = join(workDir, `${name}.sql`)
  writeFileSync(
    script,
    `\\set one random(1, 2)
\\set acc random(1, ${VBET})
\\set whole random(1, 10)
\\set since ${anchorSeconds - DAYS * DAY} + random(0, ${DAYS - 30}) * ${DAY}
\\set until :since + ${30 * DAY - 1}
\\if :whole = 1
\\set since ${anchorSeconds - DAYS * DAY - 100 * 365 * DAY}
\\set until ${anchorSeconds + DAY - 1}
\\endif
\\set sizepick random(1, 5)
\\set size 20
\\if :sizepick = 1
\\set size 100
\\endif
\\set off (random(1, 5) - 1) * :size
\\set lim :size + :off
${body}
`,
  )
  const bench = Bun.spawnSync([PGBENCH, '-n', '-M', 'prepared', '-c', String(CONNECTIONS), '-j', '2', '-T', String(DURATION), '-f', script, url], { stdout: 'pipe', stderr: 'pipe' })
  const output = bench.stdout.toString() + bench.stderr.toString()
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? 0)
  if (!tps) throw new Error(`pgbench failed:\n${output}`)
  return tps
}

// ---------------------------------------------------------------------------------------------
say(`benchmark: ${N} conversations, ${ACCOUNTS} accounts (${VBET} VBET), ${DAYS} days${GROWTH.length ? `; growth at ${GROWTH.join(', ')}` : ''}; load seed ${SEED}`)
/** The main table, at N conversations (`--conversations 0` skips it, for a growth run alone). */
async function mainTable() {
  const { server, seedSeconds, pgVersion } = await preparedDatabase(N, DATA)
  const work = mkdtempSync(join(tmpdir(), 'kpi-bench-'))
  let service: Awaited<ReturnType<typeof startService>> | undefined
  let direct: Connection | undefined
  try {
    // Two statements at once per request (count and ids, then rows and labels): twice the connections, and spare.
    const poolSize = 2 * CONNECTIONS + 2
    // No rate limit: one token drives the whole load here.
    service = await startService({ DATABASE_URL: server.url, DB_POOL_SIZE: String(poolSize), DB_STATEMENT_TIMEOUT_MS: '120000', RATE_LIMIT_PER_MINUTE: '0' })
    direct = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 120_000 }, { readonly: true })
    const { base, get, download } = endpointOf(service.url)
    // The same statements the service runs for a request, in the same order, from this process.
    const sameSql = async (query: { since: number; until: number; page_size: number; page?: number }) => {
      await repository.findTokenOwner(direct!, DEMO_TOKEN)
      await repository.findVbetAccountIdsConfig(direct!)
      const scope = { accountIds: VBET_IDS, ...createdRange(query.since, query.until) }
      const limit = clampPageSize(query.page_size)
      const [, { ids }] = await Promise.all([
        repository.countConversations(direct!, scope),
        repository.findPageIds(direct!, scope, { sortDirection: 'asc', limit, offset: ((query.page ?? 1) - 1) * limit }),
      ])
      await Promise.all([repository.findConversations(direct!, ids), repository.findLabels(direct!, ids)])
    }

    /**
     * A measure: the service, its limit (same run), and the peer where one applies. A row without a
     * target (`met` undefined) says what a measure is made of: its verdict is a dash.
     */
    type Row = { what: string; service: string; baseline: string; ratio: number; peer?: string; peerRatio?: number; target: string; met?: boolean }
    const rows: Row[] = []
    /** A row of the table, said as it is measured (`step` numbers the measures as below). */
    const addRow = (step: string, row: Row) => {
      rows.push(row)
      say(`${step} ${row.what}: ${row.service} vs ${row.baseline}`)
    }
    const ranges = {
      '30 days': { since: anchorSeconds - 45 * DAY, until: anchorSeconds - 15 * DAY - 1 },
      'whole range': { since: 0, until: anchorSeconds + DAY - 1 },
    }

    status('1. pages: the service and the same SQL, in pairs')
    // 1. One page: service vs the same SQL through pg, sampled in pairs.
    for (const [rangeName, range] of Object.entries(ranges)) {
      for (const pageSize of [20, 1000]) {
        const samples = pageSize === 1000 || rangeName === 'whole range' ? Math.max(20, Math.round(SAMPLES / 4)) : SAMPLES
        const { a: svc, b: sqlT } = await pairedTimings(
          samples,
          (i) => get({ ...range, until: range.until + i, page_size: pageSize }),
          (i) => sameSql({ ...range, until: range.until + i, page_size: pageSize }),
        )
        const peer = await timings(Math.max(5, Math.round(samples / 4)), (i) => peerPage(direct!, { accountIds: VBET_IDS, ...range, until: range.until + i, pageSize, page: 1 }))
        const ratio = svc.p50 / sqlT.p50
        addRow('1.', {
          what: `page, ${rangeName}, page_size ${pageSize}: p50 (p99)`,
          service: `${round(svc.p50)} ms (${round(svc.p99)})`,
          baseline: `${round(sqlT.p50)} ms (${round(sqlT.p99)}) same SQL via pg`,
          ratio: round(ratio, 2),
          peer: `${round(peer.p50)} ms (${round(peer.p99)})`,
          peerRatio: round(svc.p50 / peer.p50, 2),
          target: '≤ 1.5',
          met: ratio <= 1.5,
        })
      }
    }

    status('2. the deepest page and page 1, in pairs')
    // 2. The deepest page of the whole range at page_size 1000 vs page 1, sampled in pairs.
    const whole = ranges['whole range']
    const total = (await get({ ...whole, page_size: 1 })).meta.items_count as number
    const lastPage = Math.ceil(total / 1000)
    const { a: first, b: deep } = await pairedTimings(
      20,
      (i) => get({ ...whole, until: whole.until + i, page_size: 1000, page: 1 }),
      (i) => get({ ...whole, until: whole.until + i, page_size: 1000, page: lastPage }),
    )
    const peerDeep = await timings(5, (i) => peerPage(direct!, { accountIds: VBET_IDS, ...whole, until: whole.until + i, pageSize: 1000, page: lastPage }))
    addRow('2.', {
      what: `deepest page (page ${lastPage} of a ${total}-row range, page_size 1000) vs page 1: p50`,
      service: `${round(deep.p50)} ms`,
      baseline: `${round(first.p50)} ms page 1`,
      ratio: round(deep.p50 / first.p50, 2),
      peer: `${round(peerDeep.p50)} ms, the same page`,
      peerRatio: round(deep.p50 / peerDeep.p50, 2),
      target: '≤ 1.5',
      met: deep.p50 / first.p50 <= 1.5,
    })

    status('4. throughput: the service (wrk) and pgbench')
    // 4. Throughput at CONNECTIONS connections for DURATION s on random ranges and pages (wrk), vs
    //    pgbench -M prepared replaying the service's statements with the same distribution.
    //    Distribution: half the requests all VBET accounts, half one of them; a 30-day window at a
    //    random day (one in ten the whole range); page 1 to 5; page_size 20 (four in five) or 100.
    const lua = randomQueriesLua({ token: DEMO_TOKEN, anchorSeconds, days: DAYS, vbetAccountIds: VBET_IDS, seed: SEED })
    /**
     * One wrk run against `target`, its resident memory sampled every 100 ms: the peak, with the RSS
     * before; and the service's CPU time a request (steadier than requests a second on a shared machine).
     */
    const loadWithRss = async (target: { url: string; pid: number }) => {
      const before = rssMegabytes(target.pid)
      const cpuBefore = cpuMilliseconds(target.pid)
      const samples: number[] = []
      const sampler = setInterval(() => samples.push(rssMegabytes(target.pid)), 100)
      const result = await runWrk(endpointOf(target.url).base, lua, { connections: CONNECTIONS, seconds: DURATION, workDir: work })
      clearInterval(sampler)
      const requests = Object.values(result.statuses).reduce((sum, n) => sum + n, 0)
      return { result, before, peak: Math.max(before, ...samples), cpuPerRequest: (cpuMilliseconds(target.pid) - cpuBefore) / Math.max(1, requests) }
    }
    const loaded = await loadWithRss(service)
    const load = loaded.result
    const rps = load.requestsPerSecond
    const non200 = Object.entries(load.statuses).filter(([status]) => status !== '200').reduce((sum, [, n]) => sum + n, 0) + load.socketErrors

    const statements = (accountIds: number[]) => replayedStatements(server.url, accountIds)
    const tps = pgbenchTps(server.url, `\\if :one = 1\n${await statements([SENTINEL.account])}\n\\else\n${await statements(VBET_IDS)}\n\\endif`, work, 'service')
    // The peer's statements with the same distribution (one account: account_id in (:acc)).
    const peerTps = pgbenchTps(server.url, `\\if :one = 1\n${peerStatements(':acc')}\n\\else\n${peerStatements(VBET_IDS.join(', '))}\n\\endif`, work, 'peer')
    addRow('4.', {
      what: `throughput, ${CONNECTIONS} connections, ${DURATION} s, random ranges and pages`,
      service: `${round(rps)} req/s (p50 ${load.p50}, p99 ${load.p99}, not 200: ${non200})`,
      baseline: `${round(tps)} tx/s pgbench -M prepared, same statements`,
      ratio: round(rps / tps, 2),
      peer: `${round(peerTps)} tx/s pgbench -M prepared, the peer's statements`,
      peerRatio: round(rps / peerTps, 2),
      target: '≥ 0.7',
      met: rps / tps >= 0.7 && non200 === 0,
    })

    // 5. The service's peak RSS during (4).
    const peak = loaded.peak
    rows.push({ what: 'service peak RSS during the throughput run', service: `${round(peak)} MB`, baseline: `${round(loaded.before)} MB before it`, ratio: round(peak, 0), target: '≤ 120 MB', met: peak <= 120 })
    say(`5. peak RSS ${round(peak)} MB`)

    status('5b. the same load with GC_INTERVAL_MS=1000, alternating')
    // 5b. The same load on a second service, started alike but with GC_INTERVAL_MS=1000 (a full
    //     collection every second, opt-in): what it saves in memory, what it costs in throughput.
    //     Two pairs, alternating (collected, default, collected), each ratio to the default run
    //     next to it: this machine's noise is of the size of the cost.
    const collected = await startService({ DATABASE_URL: server.url, DB_POOL_SIZE: String(poolSize), DB_STATEMENT_TIMEOUT_MS: '120000', RATE_LIMIT_PER_MINUTE: '0', GC_INTERVAL_MS: '1000' })
    try {
      const collectedFirst = await loadWithRss(collected)
      const defaultAgain = await loadWithRss(service)
      const collectedSecond = await loadWithRss(collected)
      const ratios = [collectedFirst.result.requestsPerSecond / rps, collectedSecond.result.requestsPerSecond / defaultAgain.result.requestsPerSecond]
      const cpuRatios = [collectedFirst.cpuPerRequest / loaded.cpuPerRequest, collectedSecond.cpuPerRequest / defaultAgain.cpuPerRequest]
      const collectedPeak = Math.max(collectedFirst.peak, collectedSecond.peak)
      const figures = (runs: Array<typeof loaded>) =>
        `${runs.map((run) => round(run.peak)).join(', ')} MB; ${runs.map((run) => round(run.result.requestsPerSecond)).join(', ')} req/s; ${runs.map((run) => round(run.cpuPerRequest, 2)).join(', ')} ms of CPU a request`
      addRow('5b.', {
        what: `the same throughput run with GC_INTERVAL_MS=1000 (opt-in), two runs alternating with the default: peak RSS, throughput and the service's CPU a request, against the default run beside it`,
        service: figures([collectedFirst, collectedSecond]),
        baseline: `${figures([loaded, defaultAgain])} without it`,
        ratio: round(Math.min(...ratios), 2),
        peer: `throughput ratios ${ratios.map((ratio) => round(ratio, 2)).join(', ')}; CPU a request ratios ${cpuRatios.map((ratio) => round(ratio, 2)).join(', ')}`,
        target: '≤ 120 MB',
        met: collectedPeak <= 120,
      })
    } finally {
      await collected.stop()
    }

    status('3. exports of the whole range and COPY, in rounds')
    // The exports run after the load: (5) is the service's memory under pages, as specified; a
    // 200,000-row export leaves the allocator holding more for a while (see the notes).
    // 3. Exports of the whole range (every VBET conversation: at least 500,000 at 1M), against COPY
    //    of the same content in one statement: streamed (CSV and NDJSON, EXPORT_ROUNDS rounds, each ratio
    //    to the COPY of its own round), paged by page number, walked by cursor.
    const exportRange = whole
    const exportCount = total
    /**
     * COPY TO STDOUT through psql of what an export holds (the item's columns and its labels, in
     * one statement), for the VBET accounts, filtered and ordered as asked: the exports' baseline.
     */
    const timedCopy = (where: string, orderBy: string, extraColumns = '') => {
      const query = `select c.id, c.display_id, c.account_id, c.created_at, ${extraColumns} c.additional_attributes->>'resolved_time', c.status,
          u.id, u.name, u.email, ct.id, ct.identifier,
          (select string_agg(t.name, ',' order by tg.id) from taggings tg join tags t on t.id = tg.tag_id
            where tg.taggable_id = c.id and tg.taggable_type = 'Conversation' and tg.context = 'labels')
        from conversations c left join users u on u.id = c.assignee_id left join contacts ct on ct.id = c.contact_id
        where c.account_id in (${VBET_IDS.join(',')}) and ${where}
        order by ${orderBy}`
      const copyStarted = performance.now()
      const copy = Bun.spawnSync([PSQL, '-X', '-q', '-d', server.url, '-c', `copy (${query}) to stdout`], { stdout: 'pipe', stderr: 'pipe' })
      if (copy.exitCode !== 0) throw new Error(`COPY failed: ${copy.stderr.toString()}`)
      return { seconds: (performance.now() - copyStarted) / 1000, lines: copy.stdout.toString().split('\n').length - 1 }
    }
    const copyOf = (range: { since: number; until: number }) =>
      timedCopy(`c.created_at >= '${toDbText(new Date(range.since * 1000))}' and c.created_at < '${toDbText(new Date((range.until + 1) * 1000))}'`, 'c.created_at, c.id')
    const rounds: Array<{ copy: number; csv: number; ndjson: number; csvRows: number; ndjsonRows: number; copyRows: number }> = []
    const exportRss: number[] = []
    const exportSampler = setInterval(() => exportRss.push(rssMegabytes(service!.pid)), 100)
    // The database's CPU for each COPY, per 1,000 rows: what the cursor walk's database CPU is compared with (3b).
    const copyServerCpu: number[] = []
    const copied = () => {
      const cpuBefore = serverCpuMilliseconds(server)
      const copy = copyOf(exportRange)
      copyServerCpu.push((serverCpuMilliseconds(server) - cpuBefore) / (copy.lines / 1000))
      return copy
    }
    // Each round in the other order than the one before (COPY, CSV, NDJSON; then NDJSON, CSV, COPY):
    // a drift of this machine's speed during a round falls on both sides of its ratios.
    for (let round = 0; round < EXPORT_ROUNDS; round++) {
      const forward = round % 2 === 0
      let copy = forward ? copied() : undefined
      const ndjsonFirst = forward ? undefined : await download({ ...exportRange, format: 'ndjson' })
      const csv = await download({ ...exportRange, format: 'csv' })
      const ndjson = ndjsonFirst ?? (await download({ ...exportRange, format: 'ndjson' }))
      copy ??= copied()
      rounds.push({ copy: copy.seconds, csv: csv.seconds, ndjson: ndjson.seconds, csvRows: csv.lines - 1, ndjsonRows: ndjson.lines, copyRows: copy.lines })
    }
    clearInterval(exportSampler)
    // Memory after the last export: sampled each second for 10 s.
    const settled: number[] = []
    for (let second = 0; second < 10; second++) {
      await Bun.sleep(1000)
      settled.push(rssMegabytes(service.pid))
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    const spread = (values: number[]) => `${round(Math.min(...values), 2)}–${round(Math.max(...values), 2)}`
    const copySeconds = median(rounds.map((r) => r.copy))
    for (const format of ['csv', 'ndjson'] as const) {
      const ratios = rounds.map((r) => r[format] / r.copy)
      const seconds = rounds.map((r) => r[format])
      const allRows = rounds.every((r) => r[`${format}Rows`] === exportCount && r.copyRows === exportCount)
      addRow('3.', {
        what: `${format === 'csv' ? 'CSV' : 'NDJSON'} export (format=${format}), ${exportCount} conversations (the whole range), streamed; ${EXPORT_ROUNDS} rounds, in alternating order`,
        service: `${round(median(seconds), 2)} s median (${spread(seconds)}), ${rounds[0]![`${format}Rows`]} rows`,
        baseline: `${round(copySeconds, 2)} s median (${spread(rounds.map((r) => r.copy))}) COPY TO STDOUT, ${rounds[0]!.copyRows} rows`,
        ratio: round(median(ratios), 2),
        peer: `ratios ${rounds.map((_, index) => round(ratios[index]!, 2)).join(', ')}`,
        target: '≤ 1.5',
        met: median(ratios) <= 1.5 && allRows,
      })
    }
    rows.push({
      what: 'service RSS: peak during the exports, then 10 s after the last',
      service: `${round(Math.max(...exportRss))} MB peak; ${round(settled.at(-1)!)} MB after 10 s`,
      baseline: `${settled.map((value) => round(value, 0)).join(', ')} MB, each second`,
      ratio: round(settled.at(-1)!, 0),
      target: '≤ 120 MB within 10 s',
      met: settled.some((value) => value <= 120),
    })
    say(`3. ${rows.at(-1)!.what}: ${rows.at(-1)!.service}`)

    status('3b. walks by page number and by cursor')
    // 3b. The same range paged by page number (page n + 1 continues after page n) and walked by cursor.
    /** Pages read one after the other, from `first` until `read` names no next page: seconds, rows and pages. */
    const timedWalk = async <Next>(first: Next, read: (next: Next) => Promise<{ rows: number; next: Next | undefined }>) => {
      const started = performance.now()
      let walked = 0
      let pages = 0
      for (let next: Next | undefined = first; next !== undefined; pages++) {
        const page = await read(next)
        walked += page.rows
        next = page.next
      }
      return { seconds: (performance.now() - started) / 1000, rows: walked, pages }
    }
    /** A walk's row against COPY: met when it is within `limit` of it and delivered `expected` rows. */
    const walkRow = (step: string, what: string, walk: { seconds: number; rows: number }, copy: { seconds: number; text: string }, limit: number, expected: number) => {
      addRow(step, {
        what,
        service: `${round(walk.seconds, 2)} s (${walk.rows} rows)`,
        baseline: `${round(copy.seconds, 2)} s ${copy.text}`,
        ratio: round(walk.seconds / copy.seconds, 2),
        target: `≤ ${limit}`,
        met: walk.seconds / copy.seconds <= limit && walk.rows === expected,
      })
    }
    const exportCopy = { seconds: copySeconds, text: 'COPY TO STDOUT (median above)' }
    const byPage = await timedWalk(1, async (page) => {
      const { length } = (await get({ ...exportRange, page_size: 1000, page })).payload
      return { rows: length, next: length < 1000 ? undefined : page + 1 }
    })
    walkRow('3b.', `full export by page number, the same ${exportCount} conversations, pages of 1000`, byPage, exportCopy, 3, exportCount)
    // The walk is serial (the client waits for the service, which waits for the database): its CPU
    // per page, on each side, says what a page costs beside COPY, which plans the range once.
    const cpuBefore = { service: cpuMilliseconds(service.pid), server: serverCpuMilliseconds(server), client: process.cpuUsage() }
    const byCursor = await timedWalk('', async (cursor) => {
      const body = await get({ ...exportRange, page_size: 1000, cursor })
      return { rows: body.payload.length, next: (body.meta.next_cursor as string | null) ?? undefined }
    })
    const clientCpu = process.cpuUsage(cpuBefore.client)
    const cursorPages = byCursor.pages
    const perPage = {
      service: (cpuMilliseconds(service.pid) - cpuBefore.service) / cursorPages,
      server: (serverCpuMilliseconds(server) - cpuBefore.server) / cursorPages,
      client: (clientCpu.user + clientCpu.system) / 1000 / cursorPages,
    }
    walkRow('3b.', `cursor export, the same ${exportCount} conversations, pages of 1000`, byCursor, exportCopy, 1.5, exportCount)
    const copyCpu = median(copyServerCpu)
    addRow('3b.', {
      what: `cursor export, CPU a page of 1000 (${cursorPages} pages): the database's, against the database's for 1000 rows of the COPY above; beside it the service's and this client's`,
      service: `database ${round(perPage.server)} ms, service ${round(perPage.service)} ms, client ${round(perPage.client)} ms; ${round((byCursor.seconds * 1000) / cursorPages)} ms a page`,
      baseline: `database ${round(copyCpu)} ms (median of ${EXPORT_ROUNDS}: ${spread(copyServerCpu)}); COPY takes ${round((copySeconds * 1_000_000) / exportCount)} ms for 1000 rows`,
      ratio: round(perPage.server / copyCpu, 2),
      target: '–',
    })

    status('3c. the peer\'s OFFSET export of 30 days')
    // 3c. The peer's export (OFFSET pages of 1000, one after the other) costs the square of the range:
    //     measured on 30 days, against the service's CSV and COPY of the same 30 days.
    const month = { since: anchorSeconds - 30 * DAY, until: anchorSeconds + DAY - 1 }
    const monthCopy = copyOf(month)
    const monthCsv = await download({ ...month, format: 'csv' })
    const monthPeer = await peerExport(direct, VBET_IDS, month)
    rows.push({
      what: `CSV export of 30 days (${monthCsv.lines - 1} conversations), against the peer's OFFSET-paged export`,
      service: `${round(monthCsv.seconds, 2)} s`,
      baseline: `${round(monthCopy.seconds, 2)} s COPY TO STDOUT`,
      ratio: round(monthCsv.seconds / monthCopy.seconds, 2),
      peer: `${round(monthPeer.seconds, 2)} s (${monthPeer.rows} rows, SQL only)`,
      peerRatio: round(monthCsv.seconds / monthPeer.seconds, 2),
      target: '≤ 1.5',
      met: monthCsv.seconds / monthCopy.seconds <= 1.5 && monthPeer.rows === monthCsv.lines - 1,
    })
    say(`3c. ${rows.at(-1)!.what}: ${rows.at(-1)!.service} vs ${rows.at(-1)!.baseline}, peer ${rows.at(-1)!.peer}`)

    status('3d. the changes feed walked')
    // 3d. The changes feed walked from the beginning (start_time=0) to end_of_stream, pages of 1000,
    // against COPY of the same rows in the feed's order (updated_at, id), labels included.
    const changesUrl = `${base}/changes`
    const feed = await timedWalk('start_time=0&page_size=1000', async (query) => {
      const response = await fetch(`${changesUrl}?${query}`, { headers: { api_access_token: DEMO_TOKEN } })
      if (response.status !== 200) throw new Error(`changes feed: ${response.status} ${await response.text()}`)
      const body = (await response.json()) as { meta: { next_cursor: string; end_of_stream: boolean; end_time: number }; payload: unknown[] }
      return { rows: body.payload.length, next: body.meta.end_of_stream ? undefined : `cursor=${body.meta.next_cursor}` }
    })
    const feedCopy = timedCopy(`c.updated_at < now() at time zone 'UTC' - interval '60 seconds'`, 'c.updated_at, c.id', 'c.updated_at,')
    walkRow(
      '3d.',
      `changes feed, walked from start_time=0 to end_of_stream, pages of 1000 (every VBET conversation)`,
      feed,
      { seconds: feedCopy.seconds, text: `COPY TO STDOUT, same rows by updated_at (${feedCopy.lines} rows)` },
      3,
      feedCopy.lines,
    )

    status('6. the KPI metrics: 30 days against the same SQL and two peers; the whole range')
    // 6. The KPI metrics (scripts/bench-metrics.ts): 30 days by day and account against the same
    //    SQL, the client's export-and-aggregate and the report builder's query per day per metric;
    //    the whole range's answer and the service's memory while it is made.
    await metricsBenchRows({ serverUrl: server.url, serviceUrl: service.url, servicePid: service.pid, direct: direct!, data: DATA, samples: SAMPLES, addRow })

    status('plans of the page statements')
    // Plans of the page 1 and the deepest page statements, for the record.
    const explain = async (page: number) => {
      const scope = { accountIds: VBET_IDS, ...createdRange(whole.since, whole.until) }
      let captured: { text: string; parameters: readonly unknown[] } | undefined
      const probe = openDatabase(
        { dialect: 'postgres', url: server.url, poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 120_000 },
        { readonly: true, onQuery: (text, parameters) => (captured ??= { text, parameters }) },
      )
      await repository.findPageIds(probe, scope, { sortDirection: 'asc', limit: 1000, offset: (page - 1) * 1000 })
      await probe.destroy()
      const text = captured!.text.replace(/\$(\d+)/g, (_, n) => {
        const value = captured!.parameters[Number(n) - 1]
        return typeof value === 'string' ? `'${value}'` : String(value)
      })
      const plan = await sql.raw(`explain (analyze, buffers) ${text}`).execute(direct!.db)
      return (plan.rows as Array<Record<string, string>>).map((row) => row['QUERY PLAN']).join('\n')
    }
    const plans = { first: await explain(1), deep: await explain(lastPage) }

    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${pgVersion} (shared_buffers 1GB, work_mem 64MB, fsync off, autovacuum off); Bun ${Bun.version}`
    const table = rows
      .map((row) => `| ${row.what} | ${row.service} | ${row.baseline} | ${row.ratio} | ${row.peer ?? '–'} | ${row.peerRatio ?? '–'} | ${row.target} | ${row.met === undefined ? '–' : row.met ? 'met' : '**missed**'} |`)
      .join('\n')
    const report = `<!-- Written by scripts/bench.ts; the prose sections below the marker are kept. -->
  # Benchmarks

  Run: \`bun scripts/bench.ts --conversations ${N}\` on ${new Date().toISOString().slice(0, 10)}.

  Machine: ${machine}.
  Data: ${N} conversations over ${ACCOUNTS} accounts (${VBET} VBET, ${total} conversations in their whole range), ${DAYS} days, created_at growing with id; seeded in ${round(seedSeconds)} s (set-based INSERT … SELECT, then VACUUM (FREEZE, ANALYZE)).
  The service runs as a separate process (pool ${poolSize}); every figure has its baselines from the same run: the limit
  (the same SQL, pgbench, COPY), and where one applies the peer, what a straightforward implementation sends (count, a
  joined \`ORDER BY … LIMIT … OFFSET\` page over \`account_id IN (…)\`, then labels; SQL only, through the same driver).

  | measure | service | limit | service ÷ limit | peer | service ÷ peer | target (÷ limit) | |
  |---|---|---|---|---|---|---|---|
  ${table}

  <details><summary>Plan of page 1's ids (whole range, page_size 1000)</summary>

  \`\`\`
  ${plans.first}
  \`\`\`
  </details>

  <details><summary>Plan of the deepest page's ids (page ${lastPage})</summary>

  \`\`\`
  ${plans.deep}
  \`\`\`
  </details>
  `
    status(undefined)
    const previous = await Bun.file(flags.out!).text().catch(() => '')
    const marker = '<!-- notes -->'
    const notes = previous.includes(marker) ? previous.slice(previous.indexOf(marker)) : `${marker}\n`
    // The change capture's section (scripts/bench-capture.ts) is kept as it was.
    const written = `${report}\n${growthSection(previous)}\n${notes}`
    const capture = captureSection(previous)
    await Bun.write(flags.out!, capture ? withCaptureSection(written, capture) : written)
    say(`\nwritten to ${flags.out}`)
    for (const row of rows) say(`${row.met === undefined ? 'info  ' : row.met ? 'met   ' : 'MISSED'} ${row.what}: ratio ${row.ratio} (target ${row.target})`)
  } finally {
    await service?.stop()
    await direct?.destroy()
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

/** On a terminal, what is being measured now and for how long (scripts/progress.ts); elsewhere nothing. */
let phase: Progress | undefined
function status(label: string | undefined): void {
  phase?.end()
  phase = label === undefined ? undefined : progress(label)
}

if (N > 0) await mainTable()

if (GROWTH.length > 0) {
  const measured: Growth[] = []
  for (const size of GROWTH) {
    status(`growth: ${size.toLocaleString('en-US')} conversations`)
    measured.push(await measureGrowth(size, DATA))
    status(undefined)
    say(`growth ${size}: ${JSON.stringify(measured.at(-1))}`)
  }
  const previous = await Bun.file(flags.out!).text()
  await Bun.write(flags.out!, previous.replace(growthSection(previous), growthTable(measured, DATA)))
  say(`growth table written to ${flags.out}`)
}
