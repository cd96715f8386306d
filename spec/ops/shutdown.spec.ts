// SIGTERM: the service stops accepting, answers the requests in flight, closes the pool and exits 0.
import { describe, expect, test } from 'bun:test'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService } from '../service-process.ts'

describe.skipIf(REMOTE_BASE_URL !== undefined)('graceful stop', () => {
  test('requests in flight at SIGTERM are answered in full, then the process exits 0 and refuses new connections', async () => {
    const service = await startService()
    const url = `${service.url}/api/v1/kpi/conversations?page_size=1000`
    // Enough work in flight that SIGTERM lands in the middle of it.
    const inFlight = Array.from({ length: 40 }, (_, i) =>
      fetch(`${url}&since=${i}`, { headers: { api_access_token: DEMO_TOKEN } }).then(async (response) => ({ status: response.status, body: await response.json() })),
    )
    await Bun.sleep(30)
    const exited = service.stop()
    const answers = await Promise.all(inFlight)
    expect(await exited).toBe(0)
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(answer.body.payload.length).toBeGreaterThan(0)
    }
    expect(service.output()).toContain('"message":"stopped"')
    await expect(fetch(url, { headers: { api_access_token: DEMO_TOKEN } })).rejects.toThrow()
  }, 60_000)
})
