// `bun scripts/bench-instances.ts [--conversations 200000] [--duration 10] [--connections 16] [--samples 3]`
// One instance against two behind HAProxy (deploy/haproxy.cfg), sharing state in Redis, on the same
// machine and the same throwaway PostgreSQL, under the benchmark's random-query load (wrk). The
// samples alternate (one, two, one, two, …) so that drift of a shared machine falls on both.
// Writes its section of BENCHMARKS.md (between the instances markers; the rest is kept).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService, type ServiceProcess } from '../spec/service-process.ts'
import { writeMarkedSection } from './bench-report.ts'
import { seedBenchmark } from './bench-seed.ts'
import { newLoadSeed, randomQueriesLua, runWrk, type WrkResult } from './load.ts'
import { startThrowawayPostgres } from './postgres.ts'
import { startHAProxy, startRedis, type HAProxy, type Redis } from './topology.ts'

const { values: flags } = parseArgs({
  options: {
    conversations: { type: 'string', default: '200000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    samples: { type: 'string', default: '3' },
    seed: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dir, '..', 'BENCHMARKS.md') },
  },
})
const N = Number(flags.conversations)
const SECONDS = Number(flags.duration)
const CONNECTIONS = Number(flags.connections)
const SAMPLES = Number(flags.samples)
const ACCOUNTS = 20
const VBET_IDS = Array.from({ length: 10 }, (_, index) => index + 1)
const DAYS = 365
const ANCHOR = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z')

const server = await startThrowawayPostgres({ settings: { shared_buffers: '512MB', work_mem: '64MB', max_connections: 200, autovacuum: 'off' } })
const work = mkdtempSync(join(tmpdir(), 'kpi-bench-instances-'))
let redis: Redis | undefined
let haproxy: HAProxy | undefined
const instances: ServiceProcess[] = []
try {
  const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 3_600_000 }, { readonly: false })
  await migrateToLatest(writer)
  const seeded = performance.now()
  await seedBenchmark(writer.db, { conversations: N, accounts: ACCOUNTS, vbetAccounts: VBET_IDS.length, days: DAYS, anchor: ANCHOR })
  await sql`vacuum (freeze, analyze)`.execute(writer.db)
  await writer.destroy()
  console.log(`seeded ${N} conversations in ${((performance.now() - seeded) / 1000).toFixed(1)} s`)

  redis = await startRedis()
  const env = {
    DATABASE_URL: server.url,
    DB_POOL_SIZE: String(CONNECTIONS + 2),
    REDIS_URL: redis.url,
    CURSOR_SECRET: 'bench-secret-shared-by-every-instance-0123',
    RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_MINUTE: '0',
  }
  instances.push(...(await Promise.all([startService(env), startService(env)])))
  haproxy = await startHAProxy(instances.map((instance) => instance.url))
  // Each run draws other requests (its seed printed, and given back with --seed to replay it); wrk's threads each their own.
  const seed = flags.seed === undefined ? newLoadSeed() : Number(flags.seed)
  console.log(`load seed ${seed}`)
  const lua = randomQueriesLua({ token: DEMO_TOKEN, anchorSeconds: ANCHOR.getTime() / 1000, days: DAYS, vbetAccountIds: VBET_IDS, seed })
  const targets = { one: instances[0]!.url, two: haproxy.url } as const
  // Warm both paths (caches, plans, connections) before measuring.
  for (const url of Object.values(targets)) await runWrk(url, lua, { connections: CONNECTIONS, seconds: 3, workDir: work })

  const results: Record<keyof typeof targets, WrkResult[]> = { one: [], two: [] }
  for (let sample = 1; sample <= SAMPLES; sample++) {
    for (const name of ['one', 'two'] as const) {
      const result = await runWrk(targets[name], lua, { connections: CONNECTIONS, seconds: SECONDS, workDir: work })
      results[name].push(result)
      console.log(`sample ${sample}, ${name}: ${result.requestsPerSecond} req/s, p50 ${result.p50}, p99 ${result.p99}, statuses ${JSON.stringify(result.statuses)}`)
    }
  }
  const rps = (name: keyof typeof targets) => results[name].map((result) => result.requestsPerSecond)
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const ratios = results.two.map((two, index) => two.requestsPerSecond / results.one[index]!.requestsPerSecond)
  const range = (values: number[], digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
  const notOk = (name: keyof typeof targets) => results[name].reduce((sum, result) => sum + Object.entries(result.statuses).filter(([status]) => status !== '200').reduce((s, [, n]) => s + n, 0) + result.socketErrors, 0)

  const section = `<!-- instances:begin (written by scripts/bench-instances.ts) -->
## One instance, or two behind HAProxy

Run: \`bun scripts/bench-instances.ts --conversations ${N} --duration ${SECONDS} --connections ${CONNECTIONS} --samples ${SAMPLES}\` on ${new Date().toISOString().slice(0, 10)}.
The same throwaway PostgreSQL (${N} conversations, ${ACCOUNTS} accounts, ${VBET_IDS.length} VBET), the benchmark's random queries (wrk, ${CONNECTIONS} connections, ${SECONDS} s a sample),
load seed ${seed} (each wrk thread its own, derived from it), shared state in Redis for both setups; samples alternate one, two, one, two, … on this ${navigator.hardwareConcurrency}-core machine.

| setup | req/s, median (range over ${SAMPLES}) | p50 | p99 | answers other than 200 |
|---|---|---|---|---|
| one instance, direct | ${median(rps('one')).toFixed(0)} (${range(rps('one'))}) | ${results.one.map((r) => r.p50).join(', ')} | ${results.one.map((r) => r.p99).join(', ')} | ${notOk('one')} |
| two instances behind HAProxy (round robin) | ${median(rps('two')).toFixed(0)} (${range(rps('two'))}) | ${results.two.map((r) => r.p50).join(', ')} | ${results.two.map((r) => r.p99).join(', ')} | ${notOk('two')} |

Two ÷ one, sample by sample: ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}). On one machine the
instances, HAProxy, Redis, PostgreSQL and wrk share the same cores, so a second instance cannot add CPU: what this row shows
is what the balancer and the shared state cost (or save) at equal hardware. The gain of a second instance is a second machine's.
<!-- instances:end -->`
  await writeMarkedSection(flags.out!, '<!-- instances:begin', '<!-- instances:end -->', section)
  console.log(`\nwritten to ${flags.out}: two ÷ one = ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}`)
} finally {
  await haproxy?.stop()
  await Promise.all(instances.map((instance) => instance.stop()))
  await redis?.stop()
  await server.stop()
  rmSync(work, { recursive: true, force: true })
}
