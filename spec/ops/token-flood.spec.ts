// A flood of distinct junk tokens against the service as a process: resident memory stays flat.
// Tokens longer than any real one are refused before any cache or limiter keeps them, and the keys
// of the token cache and the rate limiter are hashes of a fixed size, so 20,000 distinct tokens
// (half of them 16,000 characters) cost what 20,000 small entries cost, in bounded maps.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rssMegabytes } from '../../scripts/load.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'

const TOKENS = 20_000
const CONCURRENCY = 32
/** Before the fix, each distinct 16,000-character token kept about 32 KiB: 10,000 of them, some 300 MB. */
const MAX_GROWTH_MB = 25

describe.skipIf(REMOTE_BASE_URL !== undefined)('a flood of 20,000 distinct junk tokens', () => {
  let service: ServiceProcess
  beforeAll(async () => {
    // No per-address limit on failures and a limit no token reaches: every token reaches the token
    // path and the rate limiter's map, the worst case for memory.
    service = await startService({ AUTH_FAILURES_PER_MINUTE: '0', RATE_LIMIT_PER_MINUTE: '10000000' })
  })
  afterAll(async () => {
    await service?.stop()
  })

  test('every one is 401, and resident memory grows by less than 25 MB from the first 2,000 to the last', async () => {
    const url = `${service.url}/api/v1/kpi/conversations`
    const statuses = new Map<number, number>()
    let rssAfterWarmup = 0
    for (let sent = 0; sent < TOKENS; sent += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, i) => {
          const n = sent + i
          // Even: 16,000 characters (Bun itself answers 431 past 16 KiB of headers), refused by length; odd: 100 characters, looked up (and remembered as unknown).
          const token = n % 2 === 0 ? `${n}-`.padEnd(16_000, 'x') : `${n}-`.padEnd(100, 'y')
          const response = await fetch(url, { headers: { api_access_token: token } })
          await response.arrayBuffer()
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        }),
      )
      if (sent + CONCURRENCY >= 2_000 && rssAfterWarmup === 0) {
        Bun.gc(true)
        rssAfterWarmup = rssMegabytes(service.pid)
      }
    }
    await Bun.sleep(500)
    const rssAtEnd = rssMegabytes(service.pid)
    console.log(`token flood: RSS ${rssAfterWarmup.toFixed(1)} MB after 2,000 tokens, ${rssAtEnd.toFixed(1)} MB after ${TOKENS}`)
    expect(Object.fromEntries(statuses)).toEqual({ 401: TOKENS })
    expect(rssAtEnd - rssAfterWarmup).toBeLessThan(MAX_GROWTH_MB)
  }, 180_000)
})
