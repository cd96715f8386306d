// `bun scripts/soak.ts [--seconds 60] [--connections 32]`
// A soak at saturation: the service (separate process) on a throwaway PostgreSQL with the demo data,
// wrk at full speed for a warm-up, then for `seconds`. It must end with no answer but 200 and 429
// (the rate limit is on, as deployed) and no socket errors, and the service's resident memory in
// the last 10 s within 10% of the first 10 s. Prints the figures; exits 1 when a check fails.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService } from '../spec/service-process.ts'
import { startDemoPostgres } from './demo-postgres.ts'
import { newLoadSeed, randomQueriesLua, rssMegabytes, runWrk } from './load.ts'

export interface SoakReport {
  readonly seconds: number
  /** The load's seed (wrk's threads each draw from their own, derived from it). */
  readonly seed: number
  readonly requestsPerSecond: number
  readonly statuses: Record<number, number>
  readonly socketErrors: number
  readonly rssFirstMb: number
  readonly rssLastMb: number
  readonly growth: number
  readonly failures: string[]
}

export async function runSoak(options: { seconds: number; connections: number; warmupSeconds?: number; seed?: number }): Promise<SoakReport> {
  const { server, data } = await startDemoPostgres(20_000)
  const work = mkdtempSync(join(tmpdir(), 'kpi-soak-'))
  // A limit that saturation crosses: part of the load is answered 429, as it would be in production.
  const service = await startService({ DATABASE_URL: server.url, DB_POOL_SIZE: '20', RATE_LIMIT_PER_MINUTE: '60000' })
  try {
    const seed = options.seed ?? newLoadSeed()
    const lua = randomQueriesLua({ token: DEMO_TOKEN, anchorSeconds: Math.floor(Date.now() / 1000), days: 90, vbetAccountIds: data.vbetAccountIds, seed })
    const url = `${service.url}/api/v1/kpi/conversations`
    await runWrk(url, lua, { connections: options.connections, seconds: options.warmupSeconds ?? 10, workDir: work })

    const samples: Array<{ at: number; mb: number }> = []
    const started = performance.now()
    const sampler = setInterval(() => samples.push({ at: (performance.now() - started) / 1000, mb: rssMegabytes(service.pid) }), 250)
    const result = await runWrk(url, lua, { connections: options.connections, seconds: options.seconds, workDir: work })
    clearInterval(sampler)

    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length)
    const window = Math.min(10, options.seconds / 3)
    const first = mean(samples.filter((s) => s.at < window).map((s) => s.mb))
    const last = mean(samples.filter((s) => s.at >= options.seconds - window).map((s) => s.mb))
    const growth = (last - first) / first
    const failures: string[] = []
    const unexpected = Object.entries(result.statuses).filter(([status]) => status !== '200' && status !== '429')
    if (unexpected.length) failures.push(`answers other than 200 and 429: ${unexpected.map(([s, n]) => `${n} × ${s}`).join(', ')}`)
    if (result.socketErrors) failures.push(`${result.socketErrors} socket errors`)
    if (!result.statuses[200]) failures.push('no 200 at all')
    if (growth > 0.1) failures.push(`resident memory grew ${(growth * 100).toFixed(1)}% (${first.toFixed(1)} → ${last.toFixed(1)} MB)`)
    return { seconds: options.seconds, seed, requestsPerSecond: result.requestsPerSecond, statuses: result.statuses, socketErrors: result.socketErrors, rssFirstMb: first, rssLastMb: last, growth, failures }
  } finally {
    await service.stop()
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, connections: { type: 'string', default: '32' }, seed: { type: 'string' } } })
  const report = await runSoak({ seconds: Number(values.seconds), connections: Number(values.connections), seed: values.seed === undefined ? undefined : Number(values.seed) })
  console.log(`${report.seconds} s at ${report.requestsPerSecond} req/s: ${Object.entries(report.statuses).map(([s, n]) => `${s} × ${n}`).join(', ')}; socket errors ${report.socketErrors}`)
  console.log(`load seed ${report.seed} (again: --seed ${report.seed})`)
  console.log(`resident memory: first 10 s ${report.rssFirstMb.toFixed(1)} MB, last 10 s ${report.rssLastMb.toFixed(1)} MB (${(report.growth * 100).toFixed(1)}%)`)
  console.log(report.failures.length ? `FAILED:\n  ${report.failures.join('\n  ')}` : 'all checks passed')
  process.exit(report.failures.length ? 1 : 0)
}
