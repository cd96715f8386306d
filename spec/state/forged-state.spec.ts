// Whoever can write to Redis is not an authority (issue #26): a token owner, a count or a page's end
// forged in a real Redis is ignored (a miss), logged once per cache and counted, and the answer is
// what the database says. The attacker here knows no secret and finds the keys as anyone with
// Redis access would, by scanning them after the service wrote them.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { RedisState } from '../../src/state/redis-state.ts'
import { startRedis, type Redis } from '../../scripts/topology.ts'
import { Metrics } from '../../src/ops/metrics.ts'
import { Seal } from '../../src/state/seal.ts'
import { DIALECTS, REMOTE_BASE_URL, useDatabase } from '../setup.ts'
import { contractApp, conversations, ids } from '../helpers.ts'
import { ALL_VBET_ASC } from '../../fixtures/contract-data-set.ts'

const redisServer = Bun.which('redis-server') ?? (Bun.file('/usr/bin/redis-server').size > 0 ? '/usr/bin/redis-server' : undefined)
if (!redisServer && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the Redis specs: redis-server is missing (.ci/run installs it)')
  console.warn('*** Redis specs skipped: apt-get install -y redis-server')
}

/** The KPI tracker as the service caches a token's owner. */
const TRACKER = { ownerType: 'User', userEmail: 'kpi_tracker@vbet.com' }

for (const dialect of redisServer && !REMOTE_BASE_URL ? DIALECTS : []) {
  describe(`[${dialect}] values forged in a real Redis`, () => {
    const ctx = useDatabase(dialect)
    let redis: Redis
    let attacker: RedisClient
    beforeAll(async () => {
      redis = await startRedis()
      attacker = new RedisClient(redis.url)
    })
    afterAll(async () => {
      attacker?.close()
      await redis?.stop()
    })

    /** An app over the fixture data set sharing its state through this Redis, with long lifetimes (the entries stay while the spec forges them). */
    const app = () => {
      const lines: Array<Record<string, unknown>> = []
      const state = new RedisState({ url: redis.url, log: () => {} })
      const metrics = new Metrics()
      const built = contractApp(ctx.connection, {
        state,
        metrics,
        log: (line) => lines.push(line),
        config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', tokenCacheTtlMs: 60_000, countCacheTtlMs: 60_000, pageBoundaryTtlMs: 60_000 },
      })
      return { app: built, lines, metrics, close: () => state.close() }
    }
    const keys = async (pattern: string) => ((await attacker.send('KEYS', [pattern])) as string[]).sort()
    /** What an attacker writes without the secret: the service's old plain JSON, and a value shaped like a sealed one with a made-up MAC. */
    const forgeries = (v: unknown) => [JSON.stringify({ v }), `${Date.now() + 60_000}.${Buffer.alloc(32, 7).toString('base64url')}.${JSON.stringify({ v })}`]

    test('a token owner forged for an unknown token: 401, one log line for the cache (without the token), counted', async () => {
      await attacker.send('FLUSHALL', [])
      const { app: served, lines, metrics, close } = app()
      try {
        const token = 'forged-owner-token-00001'
        expect((await conversations(served, {}, { token })).status).toBe(401) // cached as unknown
        const [key] = await keys('kpi:token:*')
        expect(key).toBeDefined()
        for (const forged of forgeries(TRACKER)) {
          await attacker.send('SET', [key!, forged, 'PX', '60000'])
          const response = await conversations(served, { format: 'csv' }, { token })
          expect(response.status).toBe(401)
        }
        const warned = lines.filter((line) => String(line.message).includes('failed its seal'))
        expect(warned).toHaveLength(1) // once per cache, however often
        expect(warned[0]).toMatchObject({ level: 'warn', cache: 'token' })
        expect(JSON.stringify(lines)).not.toContain(token)
        expect(metrics.render()).toMatch(/kpi_shared_state_rejected_total\{cache="token"\} [1-9]/)
      } finally {
        await close()
      }
    })

    test('a forged items_count: the real count; a count moved from another scope\'s key: the real count too', async () => {
      await attacker.send('FLUSHALL', [])
      const { app: served, close } = app()
      try {
        const real = (await conversations(served, { page_size: 1 })).body.meta.items_count
        expect(real).toBe(ALL_VBET_ASC.length)
        const [key] = await keys('kpi:count:*')
        for (const forged of forgeries(123456789)) {
          await attacker.send('SET', [key!, forged, 'PX', '60000'])
          expect((await conversations(served, { page_size: 1 })).body.meta.items_count).toBe(real)
        }
        // A genuine value of another scope (one account), put under the whole range's key.
        await conversations(served, { account_id: 5, page_size: 1 })
        const other = (await keys('kpi:count:*')).find((candidate) => candidate !== key)!
        await attacker.send('SET', [key!, (await attacker.get(other))!, 'PX', '60000'])
        expect((await conversations(served, { page_size: 1 })).body.meta.items_count).toBe(real)
      } finally {
        await close()
      }
    })

    test('a forged page end can neither skip nor add rows: page 2 is the right page', async () => {
      await attacker.send('FLUSHALL', [])
      const { app: served, close } = app()
      try {
        const page = (n: number) => conversations(served, { page_size: 3, page: n })
        expect(ids(await page(1))).toEqual(ALL_VBET_ASC.slice(0, 3))
        const [key] = await keys('kpi:boundary:*')
        expect(key).toBeDefined()
        // Skip rows (start far ahead), or add rows (start before the range).
        for (const boundary of [{ sortAt: '2026-01-19 00:00:00.000', id: 1 }, { sortAt: '1900-01-01 00:00:00.000', id: 0 }]) {
          for (const forged of forgeries(boundary)) {
            await attacker.send('SET', [key!, forged, 'PX', '60000'])
            expect(ids(await page(2))).toEqual(ALL_VBET_ASC.slice(3, 6))
          }
        }
        // A genuine page end moved to another page's key: page 3's end put where page 1's was.
        await page(3)
        const all = await keys('kpi:boundary:*')
        expect(all).toHaveLength(3)
        for (const other of all.filter((candidate) => candidate !== key)) {
          await attacker.send('SET', [key!, (await attacker.get(other))!, 'PX', '60000'])
          expect(ids(await page(2))).toEqual(ALL_VBET_ASC.slice(3, 6))
        }
      } finally {
        await close()
      }
    })

    test('a page end sealed with the deployment\'s own secret but outside the query\'s range (a defect, or a leaked secret) is not used either', async () => {
      await attacker.send('FLUSHALL', [])
      const secret = 'the-deployment-secret-0123456789abcdef'
      const state = new RedisState({ url: redis.url, log: () => {} })
      const served = contractApp(ctx.connection, { state, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', cursorSecret: secret } })
      try {
        const page = (n: number) => conversations(served, { page_size: 3, page: n })
        await page(1)
        const [key] = await keys('kpi:boundary:*')
        for (const boundary of [{ sortAt: '2026-03-01 00:00:00.000', id: 5 }, { sortAt: '1900-01-01 00:00:00', id: 5 }, { sortAt: 'not a time', id: 5 }, { sortAt: '2026-01-12 08:00:00', id: -1 }]) {
          await attacker.send('SET', [key!, new Seal(secret).seal(key!, JSON.stringify({ v: boundary }), Date.now() + 60_000), 'PX', '60000'])
          expect(ids(await page(2))).toEqual(ALL_VBET_ASC.slice(3, 6))
        }
      } finally {
        await state.close()
      }
    })
  })
}
