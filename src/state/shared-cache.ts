// A typed cache over the shared state: values as JSON under hashed keys (any key, even a scope of
// 70,000 account ids, is 43 characters), a lifetime, and hit/miss counts for /metrics. With a
// lifetime of 0 it caches nothing.
import { createHash } from 'node:crypto'
import type { SharedState } from './shared-state.ts'

export class SharedCache<V> {
  hits = 0
  misses = 0

  constructor(
    private readonly state: SharedState,
    /** Keeps this cache's keys apart from the others' (`count`, `token`, …). */
    private readonly namespace: string,
    private readonly ttlMs: number,
  ) {}

  #key(key: string): string {
    return `kpi:${this.namespace}:${createHash('sha256').update(key).digest('base64url')}`
  }

  /** The cached value, or what `load` gives (then cached). Concurrent loads of one key are not merged. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return load()
    const cached = await this.state.get(this.#key(key))
    if (cached !== undefined) {
      this.hits++
      // Wrapped, so that a cached `undefined` (an unknown token) is told from a miss.
      return (JSON.parse(cached) as { v: V }).v
    }
    this.misses++
    const value = await load()
    await this.set(key, value)
    return value
  }

  /** The cached value, if fresh; counts no hit or miss. */
  async peek(key: string): Promise<V | undefined> {
    if (this.ttlMs <= 0) return undefined
    const cached = await this.state.get(this.#key(key))
    return cached === undefined ? undefined : (JSON.parse(cached) as { v: V }).v
  }

  async set(key: string, value: V): Promise<void> {
    if (this.ttlMs > 0) await this.state.set(this.#key(key), JSON.stringify({ v: value }), this.ttlMs)
  }
}
