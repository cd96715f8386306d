// A typed cache over the shared state: values as JSON under hashed keys (any key, even a scope of
// 70,000 account ids, is 43 characters), a lifetime, and hit/miss counts for /metrics (every
// lookup counts, a peek too). With a lifetime of 0 it caches nothing: every lookup is a miss. Every value is sealed (src/state/seal.ts): what comes back from
// the shared state is used only if this deployment stored it under that key, within its lifetime;
// anything else is a miss, counted, and logged once per cache (never the key or the value).
import { createHash } from 'node:crypto'
import type { Seal } from './seal.ts'
import type { SharedState } from './shared-state.ts'

export interface SharedCacheOptions {
  /** Told once per cache, the first time a value fails its seal (forged, or sealed with another secret). */
  readonly onRejected?: (namespace: string) => void
  /** Milliseconds since the epoch (expiries are compared across instances); specs pass their own. */
  readonly clock?: () => number
}

export class SharedCache<V> {
  hits = 0
  misses = 0
  /** Values read back that failed their seal (each then counted as a miss too). */
  rejected = 0
  readonly #clock: () => number

  constructor(
    private readonly state: SharedState,
    /** Keeps this cache's keys apart from the others' (`count`, `token`, …). */
    readonly namespace: string,
    private readonly ttlMs: number,
    private readonly seal: Seal,
    private readonly options: SharedCacheOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now
  }

  // `s1`: values sealed since issue #26; unsealed values of older versions sit under other keys,
  // so neither version reads the other's during a rolling upgrade.
  #key(key: string): string {
    return `kpi:${this.namespace}:s1:${createHash('sha256').update(key).digest('base64url')}`
  }

  /** The cached value, or what `load` gives (then cached). Concurrent loads of one key are not merged. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) {
      this.misses++
      return load()
    }
    const cached = await this.#read(key)
    if (cached !== undefined) {
      this.hits++
      return cached.v
    }
    this.misses++
    const value = await load()
    await this.set(key, value)
    return value
  }

  /** The cached value, if fresh and genuine (counted as a hit, else a miss); nothing is loaded. */
  async peek(key: string): Promise<V | undefined> {
    const found = this.ttlMs > 0 ? await this.#read(key) : undefined
    if (found) this.hits++
    else this.misses++
    return found?.v
  }

  async set(key: string, value: V): Promise<void> {
    if (this.ttlMs <= 0) return
    const stored = this.#key(key)
    // Wrapped, so that a cached `undefined` (an unknown token) is told from a miss.
    const sealed = this.seal.seal(stored, JSON.stringify({ v: value }), this.#clock() + this.ttlMs)
    await this.state.set(stored, sealed, this.ttlMs)
  }

  async #read(key: string): Promise<{ v: V } | undefined> {
    const stored = this.#key(key)
    const raw = await this.state.get(stored)
    if (raw === undefined) return undefined
    const opened = this.seal.open(stored, raw, this.#clock())
    if (!opened.ok) {
      if (opened.reason === 'forged') this.#reject()
      return undefined
    }
    try {
      return JSON.parse(opened.payload) as { v: V }
    } catch {
      // Sealed by this deployment, so never seen; a miss all the same.
      return undefined
    }
  }

  #reject(): void {
    if (this.rejected++ === 0) this.options.onRejected?.(this.namespace)
  }
}
