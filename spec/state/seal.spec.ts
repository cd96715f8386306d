// Seals of shared values (src/state/seal.ts) and the cache that uses them (src/state/shared-cache.ts):
// a value is used only as this deployment stored it, under that key, within its lifetime.
import { describe, expect, test } from 'bun:test'
import { createHash, createHmac } from 'node:crypto'
import { Seal } from '../../src/state/seal.ts'
import { SharedCache } from '../../src/state/shared-cache.ts'
import { MemoryState } from '../../src/state/shared-state.ts'

const SECRET = 'a-cursor-secret-of-32-characters-or-more'

describe('Seal', () => {
  const seal = new Seal(SECRET)
  const sealed = seal.seal('kpi:count:s1:abc', '{"v":42}', 2_000)

  test('opens what it sealed, under the same key, before its expiry', () => {
    expect(seal.open('kpi:count:s1:abc', sealed, 1_999)).toEqual({ ok: true, payload: '{"v":42}' })
  })

  test('refuses a value altered, moved to another key, sealed with another secret, or made up', () => {
    const [expires, mac] = sealed.split('.')
    for (const [key, stored] of [
      ['kpi:count:s1:abc', `${expires}.${mac}.{"v":43}`], // the payload changed
      ['kpi:count:s1:abc', `9${expires}.${mac}.{"v":42}`], // the lifetime stretched
      ['kpi:count:s1:abd', sealed], // another key
      ['kpi:count:s1:abc', new Seal(`${SECRET}-other`).seal('kpi:count:s1:abc', '{"v":42}', 2_000)],
      ['kpi:count:s1:abc', '{"v":42}'],
      ['kpi:count:s1:abc', ''],
      ['kpi:count:s1:abc', '..'],
      ['kpi:count:s1:abc', `-1.${mac}.{"v":42}`],
      ['kpi:count:s1:abc', `${expires}.${mac}`],
    ] as const) {
      expect([stored, seal.open(key, stored, 0)]).toEqual([stored, { ok: false, reason: 'forged' }])
    }
  })

  test('a genuine value past its expiry is expired, not forged (clocks of instances differ)', () => {
    expect(seal.open('kpi:count:s1:abc', sealed, 2_000)).toEqual({ ok: false, reason: 'expired' })
  })

  test('its key is derived with a label of its own: not the HMAC that signs cursors with the same secret', () => {
    const [, mac] = sealed.split('.')
    const withSecret = createHmac('sha256', SECRET).update('kpi:count:s1:abc\n2000\n{"v":42}').digest('base64url')
    expect(mac).not.toBe(withSecret)
  })
})

describe('SharedCache', () => {
  const make = (state = new MemoryState(), now = { ms: 1_000_000 }) => {
    const rejected: string[] = []
    const cache = new SharedCache<number>(state, 'count', 10_000, new Seal(SECRET), { onRejected: (name) => rejected.push(name), clock: () => now.ms })
    return { cache, state, rejected, now }
  }

  test('a value it stored is a hit; a value forged under its key is a miss, reloaded, counted, told once', async () => {
    const { cache, state, rejected } = make()
    expect(await cache.get('scope', async () => 7)).toBe(7)
    expect(await cache.get('scope', async () => 8)).toBe(7)
    expect([cache.hits, cache.misses]).toEqual([1, 1])
    const [key] = await keysOf(state)
    for (let i = 0; i < 3; i++) {
      await state.set(key!, '{"v":123456789}', 10_000)
      expect(await cache.get('scope', async () => 9)).toBe(9)
    }
    expect(cache.rejected).toBe(3)
    expect(rejected).toEqual(['count'])
    expect(await cache.peek('scope')).toBe(9)
  })

  test('every lookup is counted, a hit or a miss, a peek too; with a lifetime of 0 (caching off) every lookup is a miss', async () => {
    const { cache } = make()
    expect(await cache.peek('scope')).toBeUndefined()
    await cache.get('scope', async () => 7)
    expect(await cache.peek('scope')).toBe(7)
    expect([cache.hits, cache.misses]).toEqual([1, 2])
    const off = new SharedCache<number>(new MemoryState(), 'count', 0, new Seal(SECRET))
    expect(await off.get('scope', async () => 7)).toBe(7)
    expect(await off.get('scope', async () => 8)).toBe(8)
    expect(await off.peek('scope')).toBeUndefined()
    expect([off.hits, off.misses]).toEqual([0, 3])
  })

  test('a genuine value put back past its lifetime is a miss, and not counted as forged', async () => {
    const { cache, state, now } = make()
    await cache.set('scope', 7)
    const [key] = await keysOf(state)
    const old = (await state.get(key!))!
    now.ms += 10_001
    await state.set(key!, old, 60_000)
    expect(await cache.peek('scope')).toBeUndefined()
    expect(cache.rejected).toBe(0)
  })
})

/** The key the cache stored 'scope' under (MemoryState lists nothing): kpi:<namespace>:s1:<SHA-256 of the key>. */
async function keysOf(state: MemoryState): Promise<string[]> {
  const key = `kpi:count:s1:${createHash('sha256').update('scope').digest('base64url')}`
  expect(await state.get(key)).toBeDefined()
  return [key]
}
