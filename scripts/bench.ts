// `bun scripts/bench.ts [--conversations 1000000] [--duration 15] [--connections 16] [--rounds 3] [--pool 64] [--seed S] [--settle 30] [--growth 100000,1000000,10000000] [--out BENCHMARKS.md]`
// The service against the database's own time for the same work, on one machine, end to end: a
// throwaway PostgreSQL seeded set-based and deterministically, the service started as a separate
// process, and every figure measured against a baseline in the same run: the limit (the very
// statements the service sent, captured and replayed through libpq or pgbench; COPY for exports)
// and the peer (what a straightforward implementation sends: count, a joined ORDER BY … LIMIT …
// OFFSET page, labels). Writes the table and its method at the head of BENCHMARKS.md (rendered by
// scripts/bench-report.ts); with --growth, also a table of how the main figures grow with the table
// (each size seeded into its own throwaway server, scripts/bench-growth.ts).
// What the tables share (the data, the endpoint, timings, the peer) is scripts/bench-kit.ts; the
// capture and the replays are scripts/bench-replay.ts; the load is scripts/load.ts.
import { cpus, totalmem } from 'node:os'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { DEFAULT_COUNT_CACHE_TTL_MS, DEFAULT_PAGE_BOUNDARY_TTL_MS, DEFAULT_TOKEN_CACHE_TTL_MS } from '../src/config.ts'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService, type ServiceProcess } from '../spec/service-process.ts'
import { findPostgresBin } from './postgres.ts'
import {
  anchorSecondsOf,
  DAY,
  endpointOf,
  loadAverage,
  median,
  pairedTimings,
  peerExport,
  peerPage,
  percentiles,
  preparedDatabase,
  rotatingTimings,
  round,
  serverCpuMilliseconds,
  spread,
  timings,
  toDbText,
  vbetIdsOf,
  type BenchData,
  type Percentiles,
} from './bench-kit.ts'
import { growthSection, growthTable, measureGrowth, type Growth } from './bench-growth.ts'
import { assembleReport, tableOf, type Row } from './bench-report.ts'
import { metricsBenchRows } from './bench-metrics.ts'
import { Capturer, PgReplayer, pgbenchPoolTps, pgbenchSerialLatencies, Replayer, type PgbenchRun, type Stages } from './bench-replay.ts'
import { cpuMilliseconds, newLoadSeed, pooledQueriesLua, randomQueriesLua, randomQueryPaths, rssMegabytes, runWrk } from './load.ts'
import { progress, say, type Progress } from './progress.ts'

const { values: flags } = parseArgs({
  options: {
    conversations: { type: 'string', default: '1000000' },
    accounts: { type: 'string', default: '20' },
    vbet: { type: 'string', default: '10' },
    days: { type: 'string', default: '365' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '16' },
    samples: { type: 'string', default: '240' },
    rounds: { type: 'string', default: '3' },
    pool: { type: 'string', default: '64' },
    settle: { type: 'string', default: '30' },
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
/** Samples of the small page (30 days, page_size 20) in all its rounds; the larger pages take a quarter. */
const SAMPLES = Number(flags.samples)
/** Rounds of each paired measure: a ratio is the median of the rounds' ratios, their range beside it. */
const ROUNDS = Number(flags.rounds)
/** Requests in the throughput run's pool: wrk sends them, pgbench replays their statements. */
const POOL = Number(flags.pool)
/** Rounds of the whole-range exports and their COPY; each export ratio is the median of the rounds' ratios. */
const EXPORT_ROUNDS = 5
/** How long the service's resident memory is followed after the last export (the target: back within SETTLE_MB in 30 s). */
const SETTLE_SECONDS = Number(flags.settle)
/** How far above its figure before the exports the resident memory may stay, SETTLE_SECONDS after the last. */
const SETTLE_MB = 20
/** Requests that warm the service (its JIT) before anything is measured. */
const WARM_UP = 300
/** The load's seed: another each run unless given (to replay a run); printed and written. */
const SEED = flags.seed === undefined ? newLoadSeed() : Number(flags.seed)
const GROWTH = flags.growth ? flags.growth.split(',').map(Number) : []
if (GROWTH.some((size) => !Number.isSafeInteger(size) || size < 1000)) throw new Error('--growth: sizes of at least 1000, comma-separated')
if (!(ROUNDS >= 1 && POOL >= 1 && SAMPLES >= ROUNDS)) throw new Error('--rounds, --pool and --samples: positive, samples at least rounds')
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

/** The peer's statements for pgbench, with the variables of peerScript: the straightforward SQL, its own distribution drawn by pgbench. */
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

/** pgbench -M prepared of the peer's statements with the load's distribution (drawn by pgbench from SEED): transactions per second. */
function peerTps(url: string, workDir: string): number {
  const script = join(workDir, 'peer.sql')
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
\\if :one = 1
${peerStatements(':acc')}
\\else
${peerStatements(VBET_IDS.join(', '))}
\\endif
`,
  )
  const bench = Bun.spawnSync([PGBENCH, '-n', '-M', 'prepared', '-c', String(CONNECTIONS), '-j', '2', '-T', String(DURATION), `--random-seed=${SEED}`, '-f', script, url], { stdout: 'pipe', stderr: 'pipe' })
  const output = bench.stdout.toString() + bench.stderr.toString()
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? 0)
  if (!tps) throw new Error(`pgbench failed:\n${output}`)
  return tps
}

/** kpi_cache_lookups_total from a service's admin listener, by cache: hits and misses so far. */
async function cacheLookups(service: ServiceProcess): Promise<Record<string, { hit: number; miss: number }>> {
  const text = await (await fetch(`${service.adminUrl}/metrics`)).text()
  const found: Record<string, { hit: number; miss: number }> = {}
  for (const [, cache, result, value] of text.matchAll(/^kpi_cache_lookups_total\{cache="(\w+)",result="(hit|miss)"\} ([\d.]+)$/gm)) {
    const entry = (found[cache!] ??= { hit: 0, miss: 0 })
    entry[result as 'hit' | 'miss'] = Number(value)
  }
  return found
}

/** What the caches answered between two readings: "count 0 of 1,234 lookups (0 %), …" (a page request looks up the count and the token once each, the page before's end when page > 1). */
function cacheShares(before: Awaited<ReturnType<typeof cacheLookups>>, after: Awaited<ReturnType<typeof cacheLookups>>): string {
  return ['count', 'token', 'boundary']
    .map((cache) => {
      const hits = (after[cache]?.hit ?? 0) - (before[cache]?.hit ?? 0)
      const lookups = hits + (after[cache]?.miss ?? 0) - (before[cache]?.miss ?? 0)
      return `${cache} ${hits.toLocaleString('en')} of ${lookups.toLocaleString('en')} lookups (${round((100 * hits) / Math.max(1, lookups), 1)} %)`
    })
    .join(', ')
}

/** A service's environment: no rate limit (one token drives the whole load), caches off unless `deployed`. */
function serviceEnv(url: string, poolSize: number, options: { deployed?: boolean; extra?: Record<string, string> } = {}): Record<string, string> {
  const caches: Record<string, string> = options.deployed ? {} : { COUNT_CACHE_TTL_MS: '0', TOKEN_CACHE_TTL_MS: '0', PAGE_BOUNDARY_TTL_MS: '0' }
  return { DATABASE_URL: url, DB_POOL_SIZE: String(poolSize), DB_STATEMENT_TIMEOUT_MS: '120000', RATE_LIMIT_PER_MINUTE: '0', ...caches, ...options.extra }
}

// ---------------------------------------------------------------------------------------------
say(`benchmark: ${N} conversations, ${ACCOUNTS} accounts (${VBET} VBET), ${DAYS} days${GROWTH.length ? `; growth at ${GROWTH.join(', ')}` : ''}; load seed ${SEED} (again: --seed ${SEED})`)
/** The main table, at N conversations (`--conversations 0` skips it, for a growth run alone). */
async function mainTable() {
  const { server, seedSeconds, pgVersion } = await preparedDatabase(N, DATA)
  const work = mkdtempSync(join(tmpdir(), 'kpi-bench-'))
  const started = { at: new Date(), load: loadAverage() }
  const services: ServiceProcess[] = []
  let direct: Connection | undefined
  let capturer: Capturer | undefined
  let replayer: Replayer | undefined
  let viaPg: PgReplayer | undefined
  try {
    // Two statements at once per request: twice the connections, and spare.
    const poolSize = 2 * CONNECTIONS + 2
    // Caches off ("cold"): the service reads the token, the allowlist, the count and the page for
    // every request, as the replays do. "deployed": the caches as they ship, for the walks (a page
    // number continues where the page before it ended) and the row that shows what the caches give.
    const start = async (options: Parameters<typeof serviceEnv>[2] = {}) => {
      const service = await startService(serviceEnv(server.url, poolSize, options))
      services.push(service)
      return service
    }
    const [cold, deployed] = [await start(), await start({ deployed: true })]
    direct = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 120_000 }, { readonly: true })
    capturer = new Capturer(server.url, DEMO_TOKEN)
    replayer = new Replayer(server.url, 2)
    viaPg = new PgReplayer(server.url, 2)
    const pgbench: PgbenchRun = { bin: PGBENCH, url: server.url, workDir: work }
    const coldEndpoint = endpointOf(cold.url)
    const { get } = coldEndpoint
    const pathOf = (query: Record<string, number | string>) => `/api/v1/kpi/conversations?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`

    const rows: Row[] = []
    /** Measures one or more rows, each told the load average before and after, and said as measured (`step` numbers them as below). */
    const measure = async (step: string, work: () => Promise<Row | Row[]>) => {
      const before = loadAverage()
      const made = await work()
      const after = loadAverage()
      for (const row of Array.isArray(made) ? made : [made]) {
        rows.push({ ...row, load: [before, after] })
        say(`${step} ${row.what}: ${row.service} vs ${row.baseline}`)
      }
    }
    const ranges = {
      '30 days': { since: anchorSeconds - 45 * DAY, until: anchorSeconds - 15 * DAY - 1 },
      'whole range': { since: 0, until: anchorSeconds + DAY - 1 },
    }

    status('warming the services up')
    // A service just started compiles its hot paths as it goes (its JIT's thread took ~1 ms a
    // request here for the first few hundred): warmed first, so what is measured is the service running.
    for (const service of [cold, deployed]) {
      const { get: warm } = endpointOf(service.url)
      for (let i = 0; i < WARM_UP; i++) {
        const range = i % 10 === 9 ? ranges['whole range'] : ranges['30 days']
        await warm({ ...range, until: range.until + i, page_size: i % 5 === 4 ? 1000 : 20, page: 1 + (i % 3) })
      }
    }

    status('1. pages: the service, the replay of its statements, the same through pg, in rotating turns')
    // 1. One page: the service against the statements it sent for that page, replayed through libpq
    //    (stages as the service ran them, prepared), in rotating turns with the same statements
    //    through pg in this process (the driver's figure); pgbench running them one after the
    //    other checks the replay. ROUNDS rounds; each ratio is the median of the rounds'.
    for (const [rangeName, range] of Object.entries(ranges)) {
      for (const pageSize of [20, 1000]) {
        const small = rangeName === '30 days' && pageSize === 20
        await measure('1.', async () => {
          const query = (i: number) => ({ ...range, until: range.until + i, page_size: pageSize })
          const stages = await capturer!.capture(pathOf(query(0)))
          const perRound = Math.max(8, Math.round((small ? SAMPLES : SAMPLES / 4) / ROUNDS))
          const rounds: Array<{ service: Percentiles; replay: Percentiles; viaPg: Percentiles; serial: Percentiles }> = []
          for (let r = 0; r < ROUNDS; r++) {
            const turns = await rotatingTimings(perRound, {
              service: (i) => get(query(i)),
              replay: () => replayer!.run(stages),
              viaPg: () => viaPg!.run(stages),
            })
            rounds.push({ ...turns, serial: percentiles(pgbenchSerialLatencies(pgbench, stages, perRound)) })
          }
          const peer = await timings(Math.max(5, Math.round(perRound / 2)), (i) => peerPage(direct!, { accountIds: VBET_IDS, ...range, until: range.until + i, pageSize, page: 1 }))
          const p50s = (side: 'service' | 'replay' | 'viaPg' | 'serial') => rounds.map((r) => r[side].p50)
          const p99s = (side: 'service' | 'replay' | 'viaPg' | 'serial') => rounds.map((r) => r[side].p99)
          const ratios = { p50: rounds.map((r) => r.service.p50 / r.replay.p50), p99: rounds.map((r) => r.service.p99 / r.replay.p99) }
          const made = `${stages.flat().length} statements in ${stages.length} stages (${stages.map((stage) => stage.length).join(' + ')})`
          const what = `page, ${rangeName}, page_size ${pageSize}`
          const p50Row: Row = {
            what: `${what}: p50${small ? '' : ' (p99)'}`,
            service: `${round(median(p50s('service')))} ms${small ? '' : ` (${round(median(p99s('service')))})`}; ÷ limit by round ${ratios.p50.map((ratio) => round(ratio, 2)).join(', ')}`,
            baseline: `${round(median(p50s('replay')))} ms${small ? '' : ` (${round(median(p99s('replay')))})`} its ${made} replayed through libpq; pgbench one after the other ${round(median(p50s('serial')))} ms; via pg in Bun ${round(median(p50s('viaPg')))} ms`,
            ratio: round(median(ratios.p50), 2),
            peer: `${round(peer.p50)} ms (${round(peer.p99)})`,
            peerRatio: round(median(p50s('service')) / peer.p50, 2),
            target: '≤ 1.5',
            met: median(ratios.p50) <= 1.5,
          }
          if (!small) return p50Row
          return [
            p50Row,
            {
              what: `${what}: p99`,
              service: `${round(median(p99s('service')))} ms; ÷ limit by round ${ratios.p99.map((ratio) => round(ratio, 2)).join(', ')}`,
              baseline: `${round(median(p99s('replay')))} ms the same replay; pgbench one after the other ${round(median(p99s('serial')))} ms; via pg in Bun ${round(median(p99s('viaPg')))} ms`,
              ratio: round(median(ratios.p99), 2),
              target: '≤ 2',
              met: median(ratios.p99) <= 2,
            },
          ]
        })
      }
    }

    status('2. the deepest page and page 1, in pairs')
    // 2. The deepest page of the whole range at page_size 1000 vs page 1, sampled in pairs.
    const whole = ranges['whole range']
    const total = (await get({ ...whole, page_size: 1 })).meta.items_count as number
    const lastPage = Math.ceil(total / 1000)
    await measure('2.', async () => {
      const { a: first, b: deep } = await pairedTimings(
        20,
        (i) => get({ ...whole, until: whole.until + i, page_size: 1000, page: 1 }),
        (i) => get({ ...whole, until: whole.until + i, page_size: 1000, page: lastPage }),
      )
      const peerDeep = await timings(5, (i) => peerPage(direct!, { accountIds: VBET_IDS, ...whole, until: whole.until + i, pageSize: 1000, page: lastPage }))
      return {
        what: `deepest page (page ${lastPage} of a ${total}-row range, page_size 1000) vs page 1: p50`,
        service: `${round(deep.p50)} ms`,
        baseline: `${round(first.p50)} ms page 1`,
        ratio: round(deep.p50 / first.p50, 2),
        peer: `${round(peerDeep.p50)} ms, the same page`,
        peerRatio: round(deep.p50 / peerDeep.p50, 2),
        target: '≤ 1.5',
        met: deep.p50 / first.p50 <= 1.5,
      }
    })

    status('4. throughput: the service (wrk) and pgbench, the same requests, in alternating rounds')
    // 4. Throughput at CONNECTIONS connections for DURATION s: a pool of POOL requests drawn from
    //    SEED with the load's distribution (half all VBET accounts, half one; a 30-day window at a
    //    random day, one in ten the whole range; page 1 to 5; page_size 20, one in five 100). wrk
    //    sends them (each thread its own seed), pgbench -M prepared replays the statements the
    //    service sent for each: the same work, caches off on both sides, in alternating rounds.
    const paths = randomQueryPaths({ anchorSeconds, days: DAYS, vbetAccountIds: VBET_IDS, seed: SEED }, POOL)
    const pool: Stages[] = []
    for (const path of paths) pool.push(await capturer.capture(path))
    const pooledLua = pooledQueriesLua({ token: DEMO_TOKEN, paths, seed: SEED })
    /**
     * One wrk run of `lua` against `target`, its resident memory sampled every 100 ms: the peak, with
     * the RSS before; the service's CPU time a request (steadier than requests a second on a shared
     * machine); what its caches answered (kpi_cache_lookups_total on its admin listener).
     */
    const loadWithRss = async (target: ServiceProcess, lua: string) => {
      const before = rssMegabytes(target.pid)
      const cpuBefore = cpuMilliseconds(target.pid)
      const lookupsBefore = await cacheLookups(target)
      const samples: number[] = []
      const sampler = setInterval(() => samples.push(rssMegabytes(target.pid)), 100)
      const result = await runWrk(endpointOf(target.url).base, lua, { connections: CONNECTIONS, seconds: DURATION, workDir: work })
      clearInterval(sampler)
      const requests = Object.values(result.statuses).reduce((sum, n) => sum + n, 0)
      const notOk = Object.entries(result.statuses).filter(([status]) => status !== '200').reduce((sum, [, n]) => sum + n, 0) + result.socketErrors
      const caches = cacheShares(lookupsBefore, await cacheLookups(target))
      return { result, requests, notOk, caches, before, peak: Math.max(before, ...samples), cpuPerRequest: (cpuMilliseconds(target.pid) - cpuBefore) / Math.max(1, requests) }
    }
    await runWrk(coldEndpoint.base, pooledLua, { connections: CONNECTIONS, seconds: 3, workDir: work }) // warm the pool's plans
    const loads: Array<Awaited<ReturnType<typeof loadWithRss>>> = []
    const tpss: number[] = []
    await measure('4.', async () => {
      for (let r = 0; r < ROUNDS; r++) {
        // Each round in the other order than the one before.
        const replayed = () => tpss.push(pgbenchPoolTps(pgbench, pool, { clients: CONNECTIONS, seconds: DURATION, seed: SEED }))
        if (r % 2 === 1) replayed()
        loads.push(await loadWithRss(cold, pooledLua))
        if (r % 2 === 0) replayed()
      }
      const ratios = loads.map((load, index) => load.result.requestsPerSecond / tpss[index]!)
      const notOk = loads.reduce((sum, load) => sum + load.notOk, 0)
      const rps = loads.map((load) => load.result.requestsPerSecond)
      return {
        what: `throughput, ${CONNECTIONS} connections, ${DURATION} s, ${POOL} requests drawn from seed ${SEED}, caches off on both sides; ${ROUNDS} rounds alternating`,
        service: `${round(median(rps))} req/s (rounds ${rps.map((value) => round(value)).join(', ')}; p50 ${loads.map((load) => load.result.p50).join(', ')}, p99 ${loads.map((load) => load.result.p99).join(', ')}; not 200: ${notOk}); wrk threads seeded ${loads[0]!.result.seeds.threads.join(', ')}; cache hits: ${loads.at(-1)!.caches}`,
        baseline: `${round(median(tpss))} tx/s (rounds ${tpss.map((value) => round(value)).join(', ')}) pgbench -M prepared, ${CONNECTIONS} clients, --random-seed ${SEED}, the statements the service sent for each of the ${POOL} requests`,
        ratio: round(median(ratios), 2),
        peer: `ratios by round ${ratios.map((ratio) => round(ratio, 2)).join(', ')}`,
        target: '≥ 0.9',
        met: median(ratios) >= 0.9 && notOk === 0,
      }
    })
    await measure('4.', async () => {
      const tps = peerTps(server.url, work)
      return {
        what: `the peer's statements under the same load's distribution (pgbench -M prepared, ${CONNECTIONS} clients, --random-seed ${SEED})`,
        service: `${round(median(loads.map((load) => load.result.requestsPerSecond)))} req/s (above)`,
        baseline: `${round(median(tpss))} tx/s (above)`,
        ratio: round(median(loads.map((load) => load.result.requestsPerSecond)) / median(tpss), 2),
        peer: `${round(tps)} tx/s`,
        peerRatio: round(median(loads.map((load) => load.result.requestsPerSecond)) / tps, 2),
        target: '–',
      }
    })
    await measure('4.', async () => {
      // The same distribution drawn as wrk goes (requests never seen before, as a dashboard's and a
      // poller's mix), against the service with its caches as they ship: what they answer, what that gives.
      const asDeployed = await loadWithRss(deployed, randomQueriesLua({ token: DEMO_TOKEN, anchorSeconds, days: DAYS, vbetAccountIds: VBET_IDS, seed: SEED }))
      return {
        what: `throughput as deployed: caches on (count ${DEFAULT_COUNT_CACHE_TTL_MS / 1000} s, token ${DEFAULT_TOKEN_CACHE_TTL_MS / 1000} s, page ends ${DEFAULT_PAGE_BOUNDARY_TTL_MS / 1000} s), the same distribution drawn by wrk as it goes (seed ${SEED})`,
        service: `${round(asDeployed.result.requestsPerSecond)} req/s (p50 ${asDeployed.result.p50}, p99 ${asDeployed.result.p99}; not 200: ${asDeployed.notOk}); cache hits: ${asDeployed.caches}`,
        baseline: `${round(median(tpss))} tx/s pgbench of the pool above (every statement, no cache)`,
        ratio: round(asDeployed.result.requestsPerSecond / median(tpss), 2),
        target: '–',
      }
    })

    // 5. The service's peak RSS during (4).
    const peak = Math.max(...loads.map((load) => load.peak))
    await measure('5.', async () => ({
      what: 'service peak RSS during the throughput runs',
      service: `${round(peak)} MB`,
      baseline: `${round(loads[0]!.before)} MB before them`,
      ratio: round(peak, 0),
      target: '≤ 120 MB',
      met: peak <= 120,
    }))

    status('5b. the same load with GC_INTERVAL_MS=1000, alternating')
    // 5b. The same load on a third service, started as the first but with GC_INTERVAL_MS=1000 (a
    //     full collection every second, opt-in): what it saves in memory, what it costs in
    //     throughput. Two pairs, alternating (collected, default, collected), each ratio to the
    //     default run next to it: this machine's noise is of the size of the cost.
    const collected = await start({ extra: { GC_INTERVAL_MS: '1000' } })
    await runWrk(endpointOf(collected.url).base, pooledLua, { connections: CONNECTIONS, seconds: 3, workDir: work }) // warmed as the others
    await measure('5b.', async () => {
      const defaultFirst = loads.at(-1)!
      const collectedFirst = await loadWithRss(collected, pooledLua)
      const defaultAgain = await loadWithRss(cold, pooledLua)
      const collectedSecond = await loadWithRss(collected, pooledLua)
      const ratios = [collectedFirst.result.requestsPerSecond / defaultFirst.result.requestsPerSecond, collectedSecond.result.requestsPerSecond / defaultAgain.result.requestsPerSecond]
      const cpuRatios = [collectedFirst.cpuPerRequest / defaultFirst.cpuPerRequest, collectedSecond.cpuPerRequest / defaultAgain.cpuPerRequest]
      const collectedPeak = Math.max(collectedFirst.peak, collectedSecond.peak)
      const figures = (runs: Array<typeof defaultFirst>) =>
        `${runs.map((run) => round(run.peak)).join(', ')} MB; ${runs.map((run) => round(run.result.requestsPerSecond)).join(', ')} req/s; ${runs.map((run) => round(run.cpuPerRequest, 2)).join(', ')} ms of CPU a request`
      return {
        what: `the same throughput run with GC_INTERVAL_MS=1000 (opt-in), two runs alternating with the default: peak RSS, throughput and the service's CPU a request, against the default run beside it`,
        service: figures([collectedFirst, collectedSecond]),
        baseline: `${figures([defaultFirst, defaultAgain])} without it`,
        ratio: round(Math.min(...ratios), 2),
        peer: `throughput ratios ${ratios.map((ratio) => round(ratio, 2)).join(', ')}; CPU a request ratios ${cpuRatios.map((ratio) => round(ratio, 2)).join(', ')}`,
        target: '≤ 120 MB',
        met: collectedPeak <= 120,
      }
    })
    await collected.stop()

    status('3. exports of the whole range and COPY, in rounds')
    // The exports, the walks and the feed: on the service with its caches as deployed (a walk by
    // page number continues where the page before ended), after the loads.
    // 3. Exports of the whole range (every VBET conversation: at least 500,000 at 1M), against COPY
    //    of the same content in one statement: streamed (CSV and NDJSON, EXPORT_ROUNDS rounds, each ratio
    //    to the COPY of its own round), paged by page number, walked by cursor.
    const exportRange = whole
    const exportCount = total
    const { base, get: getDeployed, download } = endpointOf(deployed.url)
    const beforeExports = rssMegabytes(deployed.pid)
    let since = loadAverage()
    /** A row of this part, said as it is measured, with the load average since the row before. */
    const addRow = (step: string, row: Row) => {
      const now = loadAverage()
      rows.push({ ...row, load: [since, now] })
      since = now
      say(`${step} ${row.what}: ${row.service} vs ${row.baseline}`)
    }
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
    const exportSampler = setInterval(() => exportRss.push(rssMegabytes(deployed.pid)), 100)
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
    // Memory after the last export: sampled each second for SETTLE_SECONDS.
    const settled: number[] = []
    for (let second = 0; second < SETTLE_SECONDS; second++) {
      await Bun.sleep(1000)
      settled.push(rssMegabytes(deployed.pid))
    }
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
    const back = settled.findIndex((value) => value <= beforeExports + SETTLE_MB)
    addRow('3.', {
      what: `service RSS after the exports: back within ${SETTLE_MB} MB of before them, within ${SETTLE_SECONDS} s of the last`,
      service: `${round(Math.max(...exportRss))} MB peak; ${back < 0 ? `not back in ${SETTLE_SECONDS} s` : `back within ${SETTLE_MB} MB after ${back + 1} s`}; ${round(settled.at(-1)!)} MB after ${SETTLE_SECONDS} s (each 5 s: ${settled.filter((_, index) => index % 5 === 4).map((value) => round(value, 0)).join(', ')})`,
      baseline: `${round(beforeExports)} MB before the first export`,
      ratio: round(Math.min(...settled) - beforeExports, 1),
      target: `≤ ${SETTLE_MB} MB above, within ${SETTLE_SECONDS} s`,
      met: back >= 0,
    })

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
      const { length } = (await getDeployed({ ...exportRange, page_size: 1000, page })).payload
      return { rows: length, next: length < 1000 ? undefined : page + 1 }
    })
    walkRow('3b.', `full export by page number, the same ${exportCount} conversations, pages of 1000`, byPage, exportCopy, 3, exportCount)
    // The walk is serial (the client waits for the service, which waits for the database): its CPU
    // per page, on each side, says what a page costs beside COPY, which plans the range once.
    const cpuBefore = { service: cpuMilliseconds(deployed.pid), server: serverCpuMilliseconds(server), client: process.cpuUsage() }
    const byCursor = await timedWalk('', async (cursor) => {
      const body = await getDeployed({ ...exportRange, page_size: 1000, cursor })
      return { rows: body.payload.length, next: (body.meta.next_cursor as string | null) ?? undefined }
    })
    const clientCpu = process.cpuUsage(cpuBefore.client)
    const cursorPages = byCursor.pages
    const perPage = {
      service: (cpuMilliseconds(deployed.pid) - cpuBefore.service) / cursorPages,
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
    addRow('3c.', {
      what: `CSV export of 30 days (${monthCsv.lines - 1} conversations), against the peer's OFFSET-paged export`,
      service: `${round(monthCsv.seconds, 2)} s`,
      baseline: `${round(monthCopy.seconds, 2)} s COPY TO STDOUT`,
      ratio: round(monthCsv.seconds / monthCopy.seconds, 2),
      peer: `${round(monthPeer.seconds, 2)} s (${monthPeer.rows} rows, SQL only)`,
      peerRatio: round(monthCsv.seconds / monthPeer.seconds, 2),
      target: '≤ 1.5',
      met: monthCsv.seconds / monthCopy.seconds <= 1.5 && monthPeer.rows === monthCsv.lines - 1,
    })

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
    //    the whole range's answer and the service's memory while it is made. Against the service
    //    with its caches off: its replay reads every statement too.
    await metricsBenchRows({ serverUrl: server.url, serviceUrl: cold.url, servicePid: cold.pid, direct: direct!, data: DATA, samples: SAMPLES, addRow })

    status('plans of the page statements')
    // Plans of page 1 and of the deepest page (whole range, page_size 1000): each statement the
    // service sent that reads conversations, executed once more under EXPLAIN ANALYZE, one line each.
    const client = new pg.Client({ connectionString: server.url })
    await client.connect()
    const planLines = async (page: number) => {
      const stages = await capturer!.capture(pathOf({ ...whole, page_size: 1000, page }))
      const lines: string[] = []
      for (const statement of stages.flat().filter((statement) => statement.text.includes('"conversations"'))) {
        const { rows: plan } = await client.query({ text: `explain (analyze, buffers, format json) ${statement.text}`, values: [...statement.values] })
        const top = (plan[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number }>)[0]!
        lines.push(`${describePlan(top.Plan)}; ${round(top['Execution Time'], 1)} ms (planning ${round(top['Planning Time'], 1)} ms), ${top.Plan['Shared Hit Blocks'] ?? 0} buffers hit, ${top.Plan['Shared Read Blocks'] ?? 0} read`)
      }
      return lines
    }
    const plans = { first: await planLines(1), deep: await planLines(lastPage) }
    await client.end()

    status(undefined)
    const ended = loadAverage()
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${pgVersion} (shared_buffers 1GB, work_mem 64MB, fsync off, autovacuum off); Bun ${Bun.version}`
    const head = `<!-- Written by scripts/bench.ts: this head (the table and its method) is replaced on each run; the sections below it are kept or written by their own scripts. -->
# Benchmarks

The service against the database's own time for the same work, on one machine: \`bun scripts/bench.ts --conversations ${N}\`,
${started.at.toISOString().slice(0, 16).replace('T', ' ')} UTC, load seed ${SEED} (\`--seed ${SEED}\` replays its load). ${machine}. The machine is shared: its
1-minute load average was ${round(started.load)} when the run began and ${round(ended)} when it ended (the last column: each row's, at its start and
end). On a loaded machine, read the ratios measured side by side, not the times. Earlier rounds: [docs/benchmarks-history.md](docs/benchmarks-history.md).

${tableOf(rows)}

## Method

- **Data**: ${N.toLocaleString('en')} conversations, ${ACCOUNTS} accounts (${VBET} VBET: ${total.toLocaleString('en')} conversations in their whole range), ${DAYS} days, created_at
  growing with id, seeded in ${round(seedSeconds)} s. The service runs as a separate process (pool ${poolSize}), warmed with ${WARM_UP} requests first.
- **A page's limit is the database's own time for what the service sent**: its statements, captured from the service's own
  app (in this process, caches off, each statement with its parameters and which ran at once), replayed through libpq
  (bun:ffi): prepared once per connection as the service's are, the statements it runs at once sent at once on two
  connections, stage after stage, timed around blocking calls. The driver's cost counts against the service. Beside it,
  pgbench -M prepared of the same statements one after the other (a check; it cannot send two at once) and the same stages
  through pg in this process (what the driver adds). Service, replay and pg take turns in rotating order, sample by
  sample, ${ROUNDS} rounds; a ratio is the median of the rounds', each round's beside it.
- **Caches cold on both sides**: the page and throughput rows' service runs with COUNT_CACHE_TTL_MS, TOKEN_CACHE_TTL_MS and
  PAGE_BOUNDARY_TTL_MS at 0 (it reads the token, the allowlist, the count and the page every request, as the replays do);
  each throughput row gives its cache hits (kpi_cache_lookups_total). "As deployed" has the caches on.
- **Throughput, the same work**: ${POOL} requests drawn from seed ${SEED} with the load's distribution (half all VBET accounts, half
  one; 30 days at a random day, one in ten the whole range; page 1-5; page_size 20, one in five 100). wrk sends them
  (${CONNECTIONS} connections, 2 threads seeded apart); pgbench -M prepared replays the statements the service sent for each (${CONNECTIONS}
  clients, a request's statements one after the other: with both cores busy, two at once add no capacity). ${ROUNDS} rounds of ${DURATION} s, alternating.
- **Exports and walks** against COPY TO STDOUT (psql) of the same content in one statement. **The peer**: count, a joined
  \`ORDER BY … LIMIT … OFFSET\` page over \`account_id IN (…)\`, then labels; SQL only, through pg.
- **Plans** (whole range, page_size 1000; EXPLAIN ANALYZE of each statement the service sent that reads conversations):
${[...plans.first.map((line) => `  - page 1: ${line}`), ...plans.deep.map((line) => `  - page ${lastPage}: ${line}`)].join('\n')}
- **To run**: \`bun scripts/bench.ts\` (\`--conversations\`, \`--duration\`, \`--connections\`, \`--samples\`, \`--rounds\`, \`--pool\`, \`--seed\`,
  \`--out\`; 1,000,000 conversations take 10 minutes or more here), \`--growth 100000,1000000,10000000\` for the growth table
  (\`--conversations 0\`: it alone); \`bun scripts/bench-capture.ts\`, \`bench-instances.ts\`, \`bench-start.ts\` and \`bench-overhead.ts\` write their
  sections below. spec/scripts/bench.spec.ts runs each at a tiny size in CI.
`
    const previous = await Bun.file(flags.out!).text().catch(() => '')
    await Bun.write(flags.out!, assembleReport(previous, head))
    say(`\nwritten to ${flags.out}`)
    for (const row of rows) say(`${row.met === undefined ? 'info  ' : row.met ? 'met   ' : 'MISSED'} ${row.what}: ratio ${row.ratio} (target ${row.target})`)
  } finally {
    replayer?.close()
    await viaPg?.close()
    await capturer?.close()
    await Promise.all(services.map((service) => service.stop()))
    await direct?.destroy()
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

/** A node of EXPLAIN's JSON plan, as far as the summary reads it. */
interface PlanNode {
  readonly 'Node Type': string
  readonly 'Relation Name'?: string
  readonly 'Index Name'?: string
  readonly 'Shared Hit Blocks'?: number
  readonly 'Shared Read Blocks'?: number
  readonly 'Heap Fetches'?: number
  readonly Plans?: readonly PlanNode[]
}

/** A plan in one line: each node with its children, "Limit → Merge Append (10 × Index Only Scan on …)". */
function describePlan(node: PlanNode): string {
  const name = `${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}${node['Heap Fetches'] ? ` (${node['Heap Fetches']} heap fetches)` : ''}`
  const children = node.Plans ?? []
  if (children.length === 0) return name
  const described = children.map(describePlan)
  const same = described.every((child) => child === described[0])
  return `${name} → ${same && described.length > 1 ? `${described.length} × (${described[0]})` : described.length > 1 ? `(${described.join('; ')})` : described[0]}`
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
