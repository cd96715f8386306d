// Per-key request limits in fixed one-minute windows, with what the RateLimit-* headers say.
// Keys are bounded in number (a flood of distinct keys evicts the oldest windows, never grows the
// process); callers pass keys of bounded size (a token's hash, an address).

export interface RateLimitOptions {
  /** Requests per key per window; 0 turns limiting off. */
  readonly limit: number
  readonly windowMs?: number
  readonly maxKeys?: number
  /** Milliseconds; specs pass their own. */
  readonly clock?: () => number
}

export interface RateDecision {
  readonly allowed: boolean
  readonly limit: number
  readonly remaining: number
  /** Seconds until the window resets. */
  readonly resetSeconds: number
}

export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #maxKeys: number
  readonly #clock: () => number

  constructor(options: RateLimitOptions) {
    this.#limit = options.limit
    this.#windowMs = options.windowMs ?? 60_000
    this.#maxKeys = options.maxKeys ?? 100_000
    this.#clock = options.clock ?? (() => Date.now())
  }

  get enabled(): boolean {
    return this.#limit > 0
  }

  /** Counts one request of `key` and says whether it may go on. */
  take(key: string): RateDecision {
    const now = this.#clock()
    let window = this.#current(key, now)
    if (!window) {
      this.#windows.delete(key)
      window = { start: now, count: 0 }
      this.#windows.set(key, window)
      if (this.#windows.size > this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value as string)
    }
    window.count++
    return this.#decision(window, now, window.count <= this.#limit)
  }

  /** Says whether `key` has used up its window, without counting a request. */
  peek(key: string): RateDecision {
    const now = this.#clock()
    const window = this.#current(key, now) ?? { start: now, count: 0 }
    return this.#decision(window, now, window.count < this.#limit)
  }

  #current(key: string, now: number): { start: number; count: number } | undefined {
    const window = this.#windows.get(key)
    return window && now - window.start < this.#windowMs ? window : undefined
  }

  #decision(window: { start: number; count: number }, now: number, allowed: boolean): RateDecision {
    return {
      allowed,
      limit: this.#limit,
      remaining: Math.max(0, this.#limit - window.count),
      resetSeconds: Math.max(1, Math.ceil((window.start + this.#windowMs - now) / 1000)),
    }
  }
}
