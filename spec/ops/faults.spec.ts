// The fault script, short: the service under load loses its PostgreSQL and gets it back; and a
// statement runs past statement_timeout. See scripts/faults.ts for what is checked.
import { describe, expect, test } from 'bun:test'
import { findPostgresBin } from '../../scripts/postgres.ts'
import { runFaults } from '../../scripts/faults.ts'
import { REMOTE_BASE_URL } from '../setup.ts'

const runnable = !REMOTE_BASE_URL && findPostgresBin() !== undefined
if (!runnable && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the fault spec: PostgreSQL server binaries are missing')
  console.warn('*** fault spec skipped: no PostgreSQL server binaries (apt-get install -y postgresql)')
}

describe.skipIf(!runnable)('database faults under load', () => {
  test('503 within the timeout while PostgreSQL is down, the process stays up, 200 again within 2 s; a statement timeout is a 503 that frees its connection', async () => {
    const report = await runFaults({ beforeSeconds: 2, downSeconds: 3, afterSeconds: 3, concurrency: 6, timeoutMs: 1000 })
    console.log(`faults: sent ${report.sent}, 200 ${report.ok}, 503 ${report.unavailable}, other ${report.other}; 200 again after ${Math.round(report.recoveryMs)} ms`)
    expect(report.failures).toEqual([])
    expect(report.ok).toBeGreaterThan(0)
    expect(report.unavailable).toBeGreaterThan(0)
    expect(report.other).toBe(0)
    expect(report.recoveryMs).toBeLessThanOrEqual(2000)
    expect(report.statementTimeout).toMatchObject({ status: 503, afterwards: 200 })
  }, 120_000)
})
