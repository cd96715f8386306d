// The TTL cache behind the count and token caches: reuse within the lifetime, reload after it,
// a bounded size, and no caching at all with a lifetime of 0.
import { describe, expect, test } from 'bun:test'
import { TtlCache } from '../src/ttl-cache.ts'

describe('TtlCache', () => {
  let now = 0
  const clock = () => now

  test('reuses a value within its lifetime and loads it again after', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10, clock })
    let loads = 0
    const load = async () => ++loads
    now = 0
    expect(await cache.get('a', load)).toBe(1)
    now = 999
    expect(await cache.get('a', load)).toBe(1)
    now = 1000
    expect(await cache.get('a', load)).toBe(2)
    expect([cache.hits, cache.misses]).toEqual([1, 2])
  })

  test('remembers undefined too (an unknown token stays unknown for the lifetime)', async () => {
    const cache = new TtlCache<string, undefined>({ ttlMs: 1000, maxEntries: 10, clock })
    let loads = 0
    await cache.get('x', async () => void loads++)
    await cache.get('x', async () => void loads++)
    expect(loads).toBe(1)
  })

  test('keeps at most maxEntries, dropping the oldest', async () => {
    const cache = new TtlCache<number, number>({ ttlMs: 60_000, maxEntries: 3, clock })
    for (let key = 1; key <= 5; key++) await cache.get(key, async () => key)
    expect(cache.size).toBe(3)
    let reloaded = false
    await cache.get(1, async () => ((reloaded = true), 1))
    expect(reloaded).toBe(true)
  })

  test('a lifetime of 0 caches nothing', async () => {
    const cache = new TtlCache<string, number>({ ttlMs: 0, maxEntries: 10, clock })
    let loads = 0
    await cache.get('a', async () => ++loads)
    await cache.get('a', async () => ++loads)
    expect(loads).toBe(2)
    expect(cache.size).toBe(0)
  })

  test('a value may be set with a lifetime of its own', () => {
    now = 0
    const cache = new TtlCache<string, number>({ ttlMs: 0, maxEntries: 10, clock })
    cache.set('a', 1)
    cache.set('b', 2, 500)
    expect([cache.peek('a'), cache.peek('b')]).toEqual([undefined, 2])
    now = 500
    expect(cache.peek('b')).toBeUndefined()
  })
})
