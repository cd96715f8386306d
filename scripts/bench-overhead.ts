// `bun scripts/bench-overhead.ts [--conversations 1000000] [--samples 300] [--rounds 3] [--out BENCHMARKS.md]`
// Where the time of a small page goes, rung by rung, from the database's own time to the service as
// deployed: the 30-day page of 20 (caches off) as its statements replayed through libpq, the same
// through pg and through Bun's SQL client in this process, the app (createApp) answering it in this
// process, the HTTP handler around it served by Bun.serve in this process, and the service started
// as it ships, in its own process; beside them, an HTTP server that does nothing but answer a body
// of the page's size, in its own process. The rungs take turns sample by sample (scripts/bench-kit.ts),
// on the same requests (a pool of captured pages, each rung sending the same one at a turn). Each
// step of the ladder is what that layer adds; its ratio to libpq is the bench's "÷ limit" of the
// small page, taken apart. Writes its section of BENCHMARKS.md (between the overhead markers).
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { SQL } from 'bun'
import { createApp } from '../src/app.ts'
import { DEFAULT_KPI_TRACKER_EMAIL } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { createHandler } from '../src/http.ts'
import { RateLimiter } from '../src/ops/rate-limit.ts'
import { MemoryState } from '../src/state/shared-state.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService } from '../spec/service-process.ts'
import { anchorSecondsOf, DAY, loadAverage, median, preparedDatabase, rotatingTimings, type BenchData } from './bench-kit.ts'
import { Capturer, PgReplayer, Replayer, type Stages } from './bench-replay.ts'
import { writeMarkedSection } from './bench-report.ts'
import { say, progress } from './progress.ts'

const ROOT = join(import.meta.dir, '..')
const { values: flags } = parseArgs({
  options: {
    conversations: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: join(ROOT, 'BENCHMARKS.md') },
    // The server that does nothing (this script, started again in its own process).
    'serve-bare': { type: 'string' },
  },
})

if (flags['serve-bare'] !== undefined) {
  const body = JSON.stringify({ payload: 'x'.repeat(Math.max(0, Number(flags['serve-bare']) - 14)) })
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    development: false,
    // Async as the service's handler is: the answer comes after a turn of the event loop.
    fetch: async () => {
      await Promise.resolve()
      return new Response(body, { headers: { 'content-type': 'application/json' } })
    },
  })
  const url = `http://127.0.0.1:${server.port}`
  // The lines startService waits for: the service's listening line (no admin listener here: the same
  // address stands in) and its banner's Swagger UI line.
  console.log(JSON.stringify({ message: 'listening', url, admin_url: url }))
  console.log('Swagger UI: none')
  // A timer keeps the process up (a never-settling promise made Bun spin a core).
  setInterval(() => {}, 1 << 30)
} else {
  await main()
}

async function main() {
  const N = Number(flags.conversations)
  const SAMPLES = Number(flags.samples)
  const ROUNDS = Number(flags.rounds)
  if (!(Number.isSafeInteger(N) && N >= 1000 && SAMPLES >= 10 && ROUNDS >= 1)) throw new Error('--conversations of at least 1000, --samples of at least 10, --rounds of at least 1')
  const BEGIN = '<!-- overhead:begin (written by scripts/bench-overhead.ts) -->'
  const END = '<!-- overhead:end -->'
  const data: BenchData = { accounts: 20, vbet: 10, days: 365, anchor: new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z') }
  const anchor = anchorSecondsOf(data)
  /** The bench's small page: 30 days of every VBET account, 20 a page; pages 1-3, each its own window end. */
  const POOL = 32
  const pathOf = (k: number) =>
    `/api/v1/kpi/conversations?since=${anchor - 45 * DAY}&until=${anchor - 15 * DAY - 1 - k}&page_size=20&page=${1 + (k % 3)}`

  const { server } = await preparedDatabase(N, data)
  const cleanups: (() => unknown)[] = []
  try {
    const loadBefore = loadAverage()
    const capturer = new Capturer(server.url, DEMO_TOKEN)
    const stages: Stages[] = []
    for (let k = 0; k < POOL; k++) stages.push(await capturer.capture(pathOf(k)))
    await capturer.close()

    const replayer = new Replayer(server.url, 2)
    cleanups.push(() => replayer.close())
    const viaPg = new PgReplayer(server.url, 2)
    cleanups.push(() => viaPg.close())
    // Bun's client, its statements prepared as the service's are (one text, one prepared statement a connection).
    const bunSql = new SQL({ url: server.url, max: 2, prepare: true })
    cleanups.push(() => bunSql.close())
    const viaBunSql = async (request: Stages) => {
      for (const stage of request) await Promise.all(stage.map((statement) => bunSql.unsafe(statement.text, [...statement.values])))
    }

    // The app as the server builds it, caches off, in this process; then another behind the HTTP
    // handler, served here. Each rung has connections (so PostgreSQL backends) of its own, as every
    // side of the bench does: a rung that shared the one before it's backends would find them warm
    // from its turn (seen here: 0.3-0.4 ms less than the same rung on backends of its own).
    const inProcessApp = () => {
      const connection = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 120_000 }, { readonly: true })
      cleanups.push(() => connection.destroy())
      return createApp({ connection, config: { kpiTrackerEmail: DEFAULT_KPI_TRACKER_EMAIL, countCacheTtlMs: 0, tokenCacheTtlMs: 0, pageBoundaryTtlMs: 0 } })
    }
    const app = inProcessApp()
    const state = new MemoryState()
    // Its log lines go nowhere (the service writes them to stdout; that write measured no different).
    const handle = createHandler({ app: inProcessApp(), rateLimiter: new RateLimiter({ limit: 0, state, name: 'requests' }), authFailures: new RateLimiter({ limit: 100, state, name: 'auth-failures' }), log: () => {} })
    const inProcess = Bun.serve({ hostname: '127.0.0.1', port: 0, development: false, fetch: handle })
    cleanups.push(() => inProcess.stop(true))

    const service = await startService({ DATABASE_URL: server.url, DB_POOL_SIZE: '10', RATE_LIMIT_PER_MINUTE: '0', COUNT_CACHE_TTL_MS: '0', TOKEN_CACHE_TTL_MS: '0', PAGE_BOUNDARY_TTL_MS: '0' })
    cleanups.push(() => service.stop())
    const pageBytes = (await (await fetch(`${service.url}${pathOf(0)}`, { headers: { api_access_token: DEMO_TOKEN } })).arrayBuffer()).byteLength
    const bare = await startService({}, 30_000, { command: [process.execPath, join(ROOT, 'scripts/bench-overhead.ts'), '--serve-bare', String(pageBytes)] })
    cleanups.push(() => bare.stop())

    const get = async (origin: string, k: number) => {
      const response = await fetch(`${origin}${pathOf(k)}`, { headers: { api_access_token: DEMO_TOKEN } })
      if (response.status !== 200) throw new Error(`${origin}${pathOf(k)}: ${response.status} ${await response.text()}`)
      await response.arrayBuffer()
    }
    const rungs = {
      'the statements through libpq': (i: number) => replayer.run(stages[i % POOL]!),
      'the same through pg': (i: number) => viaPg.run(stages[i % POOL]!),
      "the same through Bun's SQL client": (i: number) => viaBunSql(stages[i % POOL]!),
      'the app in process': async (i: number) => {
        const response = await app.handle(new Request(`http://localhost${pathOf(i % POOL)}`, { headers: { api_access_token: DEMO_TOKEN } }))
        if (response.status !== 200) throw new Error(`app: ${response.status}`)
        await response.arrayBuffer()
      },
      'the handler over HTTP, in process': (i: number) => get(`http://127.0.0.1:${inProcess.port}`, i % POOL),
      'the service, its own process': (i: number) => get(service.url, i % POOL),
      'an HTTP server doing nothing, its own process': (i: number) => get(bare.url, i % POOL),
    }
    type Rung = keyof typeof rungs
    const names = Object.keys(rungs) as Rung[]
    // Warm every side (the JIT, the connections, the prepared statements) before the first round.
    for (let i = 0; i < 200; i++) for (const name of names) await rungs[name](i)
    const rounds: Record<Rung, { p50: number; p99: number }>[] = []
    const bar = progress('rounds of the ladder', ROUNDS)
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push(await rotatingTimings(SAMPLES, rungs))
      bar.update(round + 1)
    }
    bar.end()
    const loadAfter = loadAverage()

    const base = 'the statements through libpq' as Rung
    const ladder: Rung[] = ['the statements through libpq', 'the same through pg', 'the app in process', 'the handler over HTTP, in process', 'the service, its own process']
    const p50 = (name: Rung) => median(rounds.map((round) => round[name].p50))
    const p99 = (name: Rung) => median(rounds.map((round) => round[name].p99))
    const ratios = (name: Rung) => rounds.map((round) => round[name].p50 / round[base].p50)
    const row = (name: Rung) => {
      const at = ladder.indexOf(name)
      const step = at > 0 ? p50(name) - p50(ladder[at - 1]!) : undefined
      const stepText = step === undefined ? '–' : `${step >= 0 ? '+' : '-'}${Math.abs(step).toFixed(2)} ms`
      return `| ${name} | ${p50(name).toFixed(2)} ms | ${p99(name).toFixed(2)} ms | ${stepText} | ${median(ratios(name)).toFixed(2)} | ${ratios(name).map((ratio) => ratio.toFixed(2)).join(', ')} |`
    }
    const section = `${BEGIN}
## Where a small page's time goes

Run: \`bun scripts/bench-overhead.ts --conversations ${N} --samples ${SAMPLES} --rounds ${ROUNDS}\` on ${new Date().toISOString().slice(0, 10)}
(load ${loadBefore.toFixed(1)}–${loadAfter.toFixed(1)}). The 30-day page of 20, caches off, on ${POOL} captured requests (pages 1–3, each its own window
end), every rung sending the same one at a turn, in rotating order, ${SAMPLES} samples a round; times are the medians of the rounds'.
A ladder, from the database's own time to the service as it ships: the page's statements replayed through libpq (the bench's limit),
the same stages through pg and through Bun's SQL client in this process (what a driver adds), the app answering in this process
(createApp: routing, validation, the rows mapped, JSON), the HTTP handler around it over Bun.serve in this process (request id, ETag,
the log line dropped), the service started as it ships (its own process, as a client meets it). Beside it, a server that does nothing
but answer a body of the page's size (${pageBytes} bytes) in its own process: the floor of one HTTP exchange between two processes here.

| rung | p50 | p99 | step from the rung above (p50) | ÷ libpq (p50, median of rounds) | ÷ libpq by round |
|---|---|---|---|---|---|
${names.map(row).join('\n')}
${END}`
    await writeMarkedSection(flags.out!, BEGIN, END, section)
    say(`written to ${flags.out}: ${ladder.map((name) => `${name} ${p50(name).toFixed(2)} ms`).join('; ')}`)
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {})
    await server.stop()
  }
}
