// The soak at saturation (scripts/soak.ts): 60 s in CI (SOAK_SECONDS to change it; 15 s by default
// elsewhere), ending with no answer but 200 and 429 and resident memory within 10%.
import { describe, expect, test } from 'bun:test'
import { findPostgresBin } from '../../scripts/postgres.ts'
import { findWrk } from '../../scripts/load.ts'
import { runSoak } from '../../scripts/soak.ts'
import { REMOTE_BASE_URL } from '../setup.ts'

const seconds = Number(process.env.SOAK_SECONDS ?? (process.env.CI ? 60 : 15))
const runnable = !REMOTE_BASE_URL && findPostgresBin() !== undefined && findWrk() !== undefined
if (!runnable && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the soak: wrk or the PostgreSQL server binaries are missing (.ci/run installs them)')
  console.warn('*** soak spec skipped: needs wrk and PostgreSQL server binaries (apt-get install -y wrk postgresql)')
}

describe.skipIf(!runnable)('soak at saturation', () => {
  test(`${seconds} s: only 200 and 429, no socket errors, resident memory within 10% from the first to the last 10 s`, async () => {
    const report = await runSoak({ seconds, connections: 32, warmupSeconds: Math.min(10, seconds) })
    console.log(
      `soak: ${report.requestsPerSecond} req/s, ${Object.entries(report.statuses).map(([s, n]) => `${s} × ${n}`).join(', ')}, ` +
        `RSS ${report.rssFirstMb.toFixed(1)} → ${report.rssLastMb.toFixed(1)} MB`,
    )
    expect(report.failures).toEqual([])
    expect(report.statuses[200]).toBeGreaterThan(0)
  }, (seconds + 120) * 1000)
})
