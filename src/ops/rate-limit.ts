// Per-key request limits in fixed one-minute windows, with what the RateLimit-* headers say. The
// windows live in the shared state: one instance's memory, or Redis, so that N instances behind a
// load balancer allow the limit, not N times it. Callers pass keys of bounded size (a token's
// hash, an address); the state bounds their number.
import { MemoryState, type SharedState, type WindowCount } from '../state/shared-state.ts'

export interface RateLimitOptions {
  /** Requests per key per window; 0 turns limiting off. */
  readonly limit: number
  readonly windowMs?: number
  /** Where the windows are counted; this process's memory unless given. */
  readonly state?: SharedState
  /** Keeps this limiter's windows apart from another's in the same state. */
  readonly name?: string
}

export interface RateDecision {
  readonly allowed: boolean
  readonly limit: number
  readonly remaining: number
  /** Seconds until the window resets. */
  readonly resetSeconds: number
}

export class RateLimiter {
  readonly #limit: number
  readonly #windowMs: number
  readonly #state: SharedState
  readonly #prefix: string

  constructor(options: RateLimitOptions) {
    this.#limit = options.limit
    this.#windowMs = options.windowMs ?? 60_000
    this.#state = options.state ?? new MemoryState()
    this.#prefix = `kpi:rate:${options.name ?? 'requests'}:`
  }

  get enabled(): boolean {
    return this.#limit > 0
  }

  /** Counts one request of `key` and says whether it may go on. */
  async take(key: string): Promise<RateDecision> {
    const window = await this.#state.hit(this.#prefix + key, this.#windowMs)
    return this.#decision(window, window.count <= this.#limit)
  }

  /** Says whether `key` has used up its window, without counting a request. */
  async peek(key: string): Promise<RateDecision> {
    const window = await this.#state.peekHits(this.#prefix + key)
    return this.#decision(window.count === 0 ? { count: 0, resetMs: this.#windowMs } : window, window.count < this.#limit)
  }

  #decision(window: WindowCount, allowed: boolean): RateDecision {
    return {
      allowed,
      limit: this.#limit,
      remaining: Math.max(0, this.#limit - window.count),
      resetSeconds: Math.max(1, Math.ceil(window.resetMs / 1000)),
    }
  }
}
