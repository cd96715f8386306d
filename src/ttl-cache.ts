// A small cache whose entries expire after a time and whose size is bounded (the oldest entry goes
// first), so that a flood of distinct keys (random tokens, random ranges) cannot grow the process.

export interface TtlCacheOptions {
  readonly ttlMs: number
  readonly maxEntries: number
  /** Milliseconds, monotonic; specs pass their own. */
  readonly clock?: () => number
}

export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: V; expires: number }>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #clock: () => number
  hits = 0
  misses = 0

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs
    this.#maxEntries = options.maxEntries
    this.#clock = options.clock ?? (() => performance.now())
  }

  /** The cached value, or what `load` gives (cached unless the TTL is 0). Concurrent loads of one key are not merged. */
  async get(key: K, load: () => Promise<V>): Promise<V> {
    if (this.#ttlMs <= 0) return load()
    const now = this.#clock()
    const entry = this.#entries.get(key)
    if (entry && entry.expires > now) {
      this.hits++
      return entry.value
    }
    this.misses++
    const value = await load()
    this.set(key, value)
    return value
  }

  /** The cached value, if it is still fresh; counts no hit or miss. */
  peek(key: K): V | undefined {
    const entry = this.#entries.get(key)
    return entry && entry.expires > this.#clock() ? entry.value : undefined
  }

  /** Caches a value for the cache's TTL, or for `ttlMs` when given (nothing with a TTL of 0). */
  set(key: K, value: V, ttlMs = this.#ttlMs): void {
    if (ttlMs <= 0) return
    this.#entries.delete(key)
    this.#entries.set(key, { value, expires: this.#clock() + ttlMs })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as K)
  }

  get size(): number {
    return this.#entries.size
  }
}
