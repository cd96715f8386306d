// The state several instances of the service must share to behave as one (rate-limit windows, the
// count cache, token owners, where served pages ended), behind one small interface with two
// implementations: this process's memory (one instance, the default) and Redis (REDIS_URL).
// Chosen once where the server is assembled; no feature knows which one it got.
import { TtlCache } from '../ttl-cache.ts'

/** A fixed window of hits: how many so far, and when it resets. */
export interface WindowCount {
  readonly count: number
  /** Milliseconds until the window ends. */
  readonly resetMs: number
}

export interface SharedState {
  /** The value stored under `key`, while fresh. */
  get(key: string): Promise<string | undefined>
  /** Stores `value` under `key` for `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** Counts one hit in `key`'s fixed window of `windowMs` (a new window starts with the first hit). */
  hit(key: string, windowMs: number): Promise<WindowCount>
  /** `key`'s window as it is, without counting. */
  peekHits(key: string): Promise<WindowCount>
  /** What backs it right now, for /ready and /metrics. */
  describe(): StateHealth
  close(): Promise<void>
}

export interface StateHealth {
  /** `memory`, `redis`, or `memory (redis unavailable)` while Redis is away. */
  readonly backend: string
  /** How often Redis failed and the process's memory answered instead (0 for memory). */
  readonly fallbacks: number
  /** Commands that waited their whole timeout for Redis (0 for memory): the waits a hung Redis cost requests. */
  readonly timeouts: number
}

/** At most this many keys of each kind: a flood of distinct keys evicts the oldest, never grows the process. */
const MAX_KEYS = 100_000

/** The process's own memory: exact for one instance, per process for several. */
export class MemoryState implements SharedState {
  // Each value is set with its own lifetime (the cache's default is not used).
  readonly #values: TtlCache<string, string>
  readonly #windows = new Map<string, { start: number; windowMs: number; count: number }>()
  readonly #clock: () => number
  readonly #maxKeys: number

  constructor(options: { clock?: () => number; maxKeys?: number } = {}) {
    this.#clock = options.clock ?? (() => Date.now())
    this.#maxKeys = options.maxKeys ?? MAX_KEYS
    this.#values = new TtlCache({ ttlMs: 0, maxEntries: this.#maxKeys, clock: this.#clock })
  }

  async get(key: string): Promise<string | undefined> {
    return this.#values.peek(key)
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#values.set(key, value, ttlMs)
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.#clock()
    let window = this.#windows.get(key)
    if (!window || now - window.start >= window.windowMs) {
      this.#windows.delete(key)
      window = { start: now, windowMs, count: 0 }
      this.#windows.set(key, window)
      if (this.#windows.size > this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value as string)
    }
    window.count++
    return { count: window.count, resetMs: window.start + window.windowMs - now }
  }

  async peekHits(key: string): Promise<WindowCount> {
    const now = this.#clock()
    const window = this.#windows.get(key)
    if (!window || now - window.start >= window.windowMs) return { count: 0, resetMs: 0 }
    return { count: window.count, resetMs: window.start + window.windowMs - now }
  }

  describe(): StateHealth {
    return { backend: 'memory', fallbacks: 0, timeouts: 0 }
  }

  async close(): Promise<void> {}
}
