// A Redis that hangs (SIGSTOP: connections accepted by the kernel, nothing answered) costs requests
// one short wait, not one a call: the first command past REDIS_COMMAND_TIMEOUT_MS opens a breaker,
// every call after it is answered from memory at once, and a background probe notices Redis is back
// without any traffic (the issue saw every request take 1.0–1.1 s, and /ready say "redis
// unavailable" for 19 s after Redis came back). Waits are counted, not timed.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RedisState } from '../../src/state/redis-state.ts'
import { startRedis, type Redis } from '../../scripts/topology.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService } from '../service-process.ts'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'

const redisServer = Bun.which('redis-server') ?? (Bun.file('/usr/bin/redis-server').size > 0 ? '/usr/bin/redis-server' : undefined)
if (!redisServer && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the Redis specs: redis-server is missing (.ci/run installs it)')
  console.warn('*** Redis specs skipped: apt-get install -y redis-server')
}

/** Polls `done` (which must not touch Redis) until it holds, for at most `ms`; how long it took. */
async function until(done: () => boolean, ms: number): Promise<number> {
  const started = performance.now()
  while (!done() && performance.now() - started < ms) await Bun.sleep(20)
  return performance.now() - started
}

describe.skipIf(!redisServer || REMOTE_BASE_URL !== undefined)('a Redis that hangs', () => {
  let redis: Redis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    redis?.thaw()
    await redis?.stop()
  })

  test('calls one after another for 2 s while it hangs: one wait in all, every call answered (from memory), Redis used again without traffic after SIGCONT', async () => {
    const lines: Array<Record<string, unknown>> = []
    const state = new RedisState({ url: redis.url, log: (line) => lines.push(line) })
    try {
      await state.set('kpi:test:before', 'x', 60_000)
      expect(state.describe()).toMatchObject({ backend: 'redis', fallbacks: 0 })
      redis.freeze()
      const durations: number[] = []
      const frozenAt = performance.now()
      while (performance.now() - frozenAt < 2000) {
        const started = performance.now()
        expect((await state.hit('kpi:test:window', 60_000)).count).toBeGreaterThan(0)
        await state.get('kpi:test:token')
        durations.push(performance.now() - started)
        await Bun.sleep(5)
      }
      // Across 2 s (eight probe intervals), one command waited its timeout; no call waited for a probe or a connection.
      expect(state.describe().timeouts).toBe(1)
      expect(state.describe().backend).toBe('memory (redis unavailable)')
      expect(state.describe().fallbacks).toBeGreaterThanOrEqual(durations.length * 2 - 1)
      const sorted = [...durations].sort((a, b) => a - b)
      console.log(`hung Redis: ${durations.length} requests of two calls each; median ${sorted[sorted.length >> 1]!.toFixed(2)} ms, slowest ${sorted.at(-1)!.toFixed(1)} ms`)
      expect(lines.filter((line) => String(line.message).includes('Redis does not answer'))).toHaveLength(1)

      redis.thaw()
      // No call from here on: only the probe can notice.
      const noticedMs = await until(() => state.describe().backend === 'redis', 2000)
      console.log(`hung Redis: back in use ${noticedMs.toFixed(0)} ms after SIGCONT, without traffic`)
      expect(state.describe().backend).toBe('redis')
      expect(lines.filter((line) => String(line.message).includes('Redis answers again'))).toHaveLength(1)
      await state.set('kpi:test:after', 'y', 60_000)
      expect(state.describe().timeouts).toBe(1)
    } finally {
      redis.thaw()
      await state.close()
    }
  }, 30_000)

  test('the service with REDIS_URL: API requests while Redis hangs cost one wait in all (kpi_shared_state_timeouts_total), /ready says memory, then redis again after SIGCONT with no request', async () => {
    const service = await startService({ REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '100000' })
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${service.adminUrl}/metrics`)).text())?.[1])
    const ready = async () => ((await (await fetch(`${service.adminUrl}/ready`)).json()) as { shared_state: string }).shared_state
    try {
      expect(service.output()).toMatch(/"level":"warn","message":"REDIS_URL without CURSOR_SECRET/)
      const ask = () => fetch(`${service.url}/api/v1/kpi/conversations?page_size=1`, { headers: { api_access_token: DEMO_TOKEN } }).then((response) => response.status)
      expect(await ask()).toBe(200)
      expect(await ready()).toBe('redis')
      redis.freeze()
      const statuses = new Set<number>()
      for (let i = 0; i < 40; i++) statuses.add(await ask())
      expect([...statuses]).toEqual([200])
      // Each request reads or writes Redis four or five times (the limits, the token, the count); one command waited.
      expect(await metric('kpi_shared_state_timeouts_total')).toBe(1)
      expect(await metric('kpi_shared_state_fallbacks_total')).toBeGreaterThanOrEqual(40 * 4)
      expect(await ready()).toBe('memory (redis unavailable)')
      redis.thaw()
      // /ready and /metrics only read what the service knows: no request touches Redis from here on.
      const started = performance.now()
      while ((await ready()) !== 'redis' && performance.now() - started < 2000) await Bun.sleep(20)
      expect(await ready()).toBe('redis')
      expect(service.output()).toContain('"message":"shared state: Redis answers again; using it"')
    } finally {
      redis.thaw()
      await service.stop()
    }
  }, 60_000)

  test('fifty calls at once when it starts to hang: each waits at most once, then memory', async () => {
    const state = new RedisState({ url: redis.url, log: () => {} })
    try {
      await state.get('kpi:test:connected')
      redis.freeze()
      const first = await Promise.all(Array.from({ length: 50 }, (_, i) => state.hit(`kpi:test:burst:${i}`, 60_000)))
      expect(first.every((window) => window.count === 1)).toBe(true)
      const waited = state.describe().timeouts
      expect(waited).toBeLessThanOrEqual(50)
      // Then no wait at all, whatever comes.
      await Promise.all(Array.from({ length: 50 }, (_, i) => state.get(`kpi:test:burst:${i}`)))
      expect(state.describe().timeouts).toBe(waited)
    } finally {
      redis.thaw()
      await state.close()
    }
  }, 30_000)
})
