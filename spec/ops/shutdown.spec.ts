// SIGTERM: the service stops accepting, answers the requests in flight, closes the pool and exits 0.
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService } from '../service-process.ts'

/**
 * Connections to `port` its listener has accepted (Linux: established, with a socket inode; those the
 * kernel holds in the accept queue, not yet accepted, have inode 0).
 */
function acceptedConnections(port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(local) && fields[3] === '01' && fields[9] !== '0').length
}

describe.skipIf(REMOTE_BASE_URL !== undefined)('graceful stop', () => {
  test('requests in flight at SIGTERM are answered in full, then the process exits 0 and refuses new connections', async () => {
    const service = await startService()
    const url = `${service.url}/api/v1/kpi/conversations?page_size=1000`
    // Enough work in flight that SIGTERM lands in the middle of it.
    const inFlight = Array.from({ length: 40 }, (_, i) =>
      fetch(`${url}&since=${i}`, { headers: { api_access_token: DEMO_TOKEN } }).then(async (response) => ({ status: response.status, body: await response.json() })),
    )
    // In flight means taken by the service: on a busy machine 30 ms may leave connections in the
    // kernel's accept queue, which closing the listener resets (the client never reached the service).
    const port = Number(new URL(service.url).port)
    for (const deadline = Date.now() + 10_000; acceptedConnections(port) < inFlight.length && Date.now() < deadline; ) await Bun.sleep(5)
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
