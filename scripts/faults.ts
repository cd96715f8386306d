// `bun scripts/faults.ts [--before 3] [--down 4] [--after 4] [--concurrency 8]`
// The service under load against a real PostgreSQL, and the database taken away: requests must
// answer 503 within the configured timeout while it is down, the process must stay up, and 200s
// must come back within 2 s of its return, without a restart. Then a statement held past
// statement_timeout must answer 503 and give its connection back. Prints the counts; exits 1 when
// a check fails.
import { parseArgs } from 'node:util'
import pg from 'pg'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService } from '../spec/service-process.ts'
import { startDemoPostgres } from './demo-postgres.ts'

export interface FaultReport {
  readonly sent: number
  readonly ok: number
  readonly unavailable: number
  readonly other: number
  readonly slowestUnavailableMs: number
  readonly recoveryMs: number
  readonly statementTimeout: { status: number; ms: number; afterwards: number }
  readonly processAlive: boolean
  readonly failures: string[]
}

export interface FaultOptions {
  readonly beforeSeconds: number
  readonly downSeconds: number
  readonly afterSeconds: number
  readonly concurrency: number
  /** DB_CONNECT_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS of the service. */
  readonly timeoutMs: number
}

export async function runFaults(options: FaultOptions): Promise<FaultReport> {
  const { server } = await startDemoPostgres(3000)
  const timeout = String(options.timeoutMs)
  const service = await startService({ DATABASE_URL: server.url, DB_CONNECT_TIMEOUT_MS: timeout, DB_STATEMENT_TIMEOUT_MS: timeout, DB_POOL_SIZE: '10', RATE_LIMIT_PER_MINUTE: '0' })
  const url = `${service.url}/api/v1/kpi/conversations`
  const counts = { sent: 0, ok: 0, unavailable: 0, other: 0 }
  let slowestUnavailableMs = 0
  let down = false
  let upAgainAt = 0
  let firstOkAfterUp = 0
  const failures: string[] = []
  const ask = async (query = '') => {
    const started = performance.now()
    let status = 0
    try {
      const response = await fetch(`${url}?page_size=5${query}`, { headers: { api_access_token: DEMO_TOKEN }, signal: AbortSignal.timeout(10_000) })
      status = response.status
      const body = await response.json().catch(() => undefined)
      if (status !== 200 && !(body && typeof body.error === 'string')) failures.push(`${status} without an {"error"} body`)
    } catch (error) {
      status = -1
      if (failures.length < 5) failures.push(`no answer: ${(error as Error).message}`)
    }
    return { status, ms: performance.now() - started }
  }
  try {
    let running = true
    const workers = Array.from({ length: options.concurrency }, async (_, worker) => {
      while (running) {
        const { status, ms } = await ask(`&page=${1 + (worker % 5)}`)
        counts.sent++
        if (status === 200) {
          counts.ok++
          if (!down && upAgainAt && !firstOkAfterUp) firstOkAfterUp = performance.now()
        } else if (status === 503) {
          counts.unavailable++
          slowestUnavailableMs = Math.max(slowestUnavailableMs, ms)
        } else counts.other++
        if (status !== 200) await Bun.sleep(20) // a client that honours Retry-After loosely
      }
    })
    await Bun.sleep(options.beforeSeconds * 1000)
    down = true
    await server.halt()
    await Bun.sleep(options.downSeconds * 1000)
    await server.resume()
    down = false
    upAgainAt = performance.now()
    await Bun.sleep(options.afterSeconds * 1000)
    running = false
    await Promise.all(workers)
    const processAlive = service.output().length > 0 && (() => { try { process.kill(service.pid, 0); return true } catch { return false } })()

    // A statement held past statement_timeout: another session locks the table.
    const locker = new pg.Client({ connectionString: server.url })
    await locker.connect()
    await locker.query('begin')
    await locker.query('lock table conversations in access exclusive mode')
    const held = await ask('&since=1')
    await locker.query('rollback')
    await locker.end()
    const afterwards = (await ask('&since=2')).status

    const recoveryMs = firstOkAfterUp ? firstOkAfterUp - upAgainAt : Number.POSITIVE_INFINITY
    if (counts.other > 0) failures.push(`${counts.other} answers neither 200 nor 503`)
    if (counts.unavailable === 0) failures.push('no 503 while the database was down')
    if (slowestUnavailableMs > options.timeoutMs + 1500) failures.push(`a 503 took ${Math.round(slowestUnavailableMs)} ms (timeout ${options.timeoutMs} ms)`)
    if (recoveryMs > 2000) failures.push(`200 again only after ${Math.round(recoveryMs)} ms`)
    if (!processAlive) failures.push('the service process died')
    if (held.status !== 503) failures.push(`a statement past statement_timeout answered ${held.status}`)
    if (held.ms > options.timeoutMs + 1500) failures.push(`the statement timeout answered after ${Math.round(held.ms)} ms`)
    if (afterwards !== 200) failures.push(`after the timeout, the next request answered ${afterwards}`)
    return { ...counts, slowestUnavailableMs, recoveryMs, statementTimeout: { status: held.status, ms: held.ms, afterwards }, processAlive, failures }
  } finally {
    await service.stop()
    await server.stop()
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      before: { type: 'string', default: '3' },
      down: { type: 'string', default: '4' },
      after: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '8' },
      timeout: { type: 'string', default: '1000' },
    },
  })
  const report = await runFaults({
    beforeSeconds: Number(values.before),
    downSeconds: Number(values.down),
    afterSeconds: Number(values.after),
    concurrency: Number(values.concurrency),
    timeoutMs: Number(values.timeout),
  })
  console.log(`sent ${report.sent}, 200 ${report.ok}, 503 ${report.unavailable}, other ${report.other}`)
  console.log(`slowest 503 ${Math.round(report.slowestUnavailableMs)} ms; 200 again ${Math.round(report.recoveryMs)} ms after the database returned`)
  console.log(`statement past statement_timeout: ${report.statementTimeout.status} in ${Math.round(report.statementTimeout.ms)} ms, then ${report.statementTimeout.afterwards}`)
  console.log(report.failures.length ? `FAILED:\n  ${report.failures.join('\n  ')}` : 'all checks passed')
  process.exit(report.failures.length ? 1 : 0)
}
