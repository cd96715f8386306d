// The per-key fixed-window rate limiter, over each kind of shared state: this process's memory and
// a real Redis (when redis-server is installed), so that N instances allow the limit, not N times it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { RedisClient } from 'bun'
import { RedisState } from '../../src/state/redis-state.ts'
import { MemoryState } from '../../src/state/shared-state.ts'
import { startRedis, type Redis } from '../../scripts/topology.ts'
import { REMOTE_BASE_URL } from '../setup.ts'

describe('RateLimiter in this process\'s memory', () => {
  test('allows `limit` requests a window per key, then refuses until the window resets', async () => {
    let now = 1_000_000
    const limiter = new RateLimiter({ limit: 3, windowMs: 60_000, state: new MemoryState({ clock: () => now }) })
    const allowed = []
    for (let i = 0; i < 4; i++) allowed.push((await limiter.take('a')).allowed)
    expect(allowed).toEqual([true, true, true, false])
    expect((await limiter.take('b')).allowed).toBe(true) // another key has its own window
    now += 59_999
    expect((await limiter.take('a')).allowed).toBe(false)
    now += 1
    expect(await limiter.take('a')).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60 })
  })

  test('says what the RateLimit headers say: limit, remaining, seconds to reset; peek counts nothing', async () => {
    let now = 0
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, state: new MemoryState({ clock: () => now }) })
    expect(await limiter.peek('a')).toEqual({ allowed: true, limit: 2, remaining: 2, resetSeconds: 60 })
    expect(await limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 60 })
    now = 30_500
    expect(await limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 0, resetSeconds: 30 })
    expect(await limiter.peek('a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetSeconds: 30 })
    expect(await limiter.take('a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetSeconds: 30 })
  })

  test('a limit of 0 is off', () => {
    expect(new RateLimiter({ limit: 0 }).enabled).toBe(false)
    expect(new RateLimiter({ limit: 1 }).enabled).toBe(true)
  })

  test('keeps at most maxKeys windows (a flood of keys does not grow the process)', async () => {
    const limiter = new RateLimiter({ limit: 1, state: new MemoryState({ clock: () => 0, maxKeys: 2 }) })
    await limiter.take('a')
    await limiter.take('b')
    await limiter.take('c') // evicts a
    expect((await limiter.take('a')).allowed).toBe(true)
  })
})

const redisServer = Bun.which('redis-server') ?? (Bun.file('/usr/bin/redis-server').size > 0 ? '/usr/bin/redis-server' : undefined)
if (!redisServer && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the Redis specs: redis-server is missing (.ci/run installs it)')
  console.warn('*** Redis specs skipped: apt-get install -y redis-server')
}

describe.skipIf(!redisServer || REMOTE_BASE_URL !== undefined)('RateLimiter and the shared state in a real Redis', () => {
  let redis: Redis
  const lines: Array<Record<string, unknown>> = []
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  test('two instances share one window: together they get the limit, not twice it', async () => {
    const first = new RedisState({ url: redis.url, log: (line) => lines.push(line) })
    const second = new RedisState({ url: redis.url, log: (line) => lines.push(line) })
    try {
      const limiters = [new RateLimiter({ limit: 5, state: first }), new RateLimiter({ limit: 5, state: second })]
      const allowed = []
      for (let i = 0; i < 8; i++) allowed.push((await limiters[i % 2]!.take('token:shared')).allowed)
      expect(allowed).toEqual([true, true, true, true, true, false, false, false])
      const decision = await limiters[0]!.peek('token:shared')
      expect(decision).toMatchObject({ allowed: false, remaining: 0 })
      expect(decision.resetSeconds).toBeGreaterThan(55)
    } finally {
      await first.close()
      await second.close()
    }
  })

  test('concurrent first calls share one connection, and every hit counts once', async () => {
    const observer = new RedisClient(redis.url)
    const before = String(await observer.send('CLIENT', ['LIST'])).trim().split('\n').length
    const state = new RedisState({ url: redis.url, log: (line) => lines.push(line) })
    try {
      const counts = await Promise.all(Array.from({ length: 50 }, () => state.hit('kpi:test:concurrent', 60_000)))
      expect(counts.map((window) => window.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      const after = String(await observer.send('CLIENT', ['LIST'])).trim().split('\n').length
      expect(after - before).toBe(1)
    } finally {
      observer.close()
      await state.close()
    }
  })

  test('values expire with their lifetime; windows reset', async () => {
    const state = new RedisState({ url: redis.url, log: (line) => lines.push(line) })
    try {
      await state.set('kpi:test:a', 'x', 200)
      expect(await state.get('kpi:test:a')).toBe('x')
      expect((await state.hit('kpi:test:w', 200)).count).toBe(1)
      expect((await state.hit('kpi:test:w', 200)).count).toBe(2)
      await Bun.sleep(300)
      expect(await state.get('kpi:test:a')).toBeUndefined()
      expect((await state.hit('kpi:test:w', 200)).count).toBe(1)
    } finally {
      await state.close()
    }
  })

  test('without Redis it answers from memory (logged, counted), and uses Redis again when it is back', async () => {
    const state = new RedisState({ url: redis.url, probeIntervalMs: 100, log: (line) => lines.push(line) })
    try {
      await state.set('kpi:test:b', 'in redis', 60_000)
      await redis.halt()
      const started = performance.now()
      await state.set('kpi:test:c', 'in memory', 60_000)
      expect(await state.get('kpi:test:c')).toBe('in memory')
      expect(performance.now() - started).toBeLessThan(3000)
      expect(state.describe()).toMatchObject({ backend: 'memory (redis unavailable)' })
      expect(state.describe().fallbacks).toBeGreaterThan(0)
      expect(lines.some((line) => line.level === 'error' && String(line.message).includes('Redis does not answer'))).toBe(true)
      await redis.resume()
      await Bun.sleep(150)
      await state.set('kpi:test:d', 'in redis again', 60_000)
      expect(state.describe().backend).toBe('redis')
      const other = new RedisState({ url: redis.url, log: () => {} })
      expect(await other.get('kpi:test:d')).toBe('in redis again')
      await other.close()
      expect(lines.some((line) => String(line.message).includes('Redis answers again'))).toBe(true)
    } finally {
      await state.close()
    }
  }, 30_000)
})
