// The shared state in Redis (REDIS_URL), through Bun's built-in client, so that every instance
// behind a load balancer sees the same rate-limit windows, counts, token owners and page ends.
// Redis is a help, not a dependency: while it does not answer (down, unreachable, too slow), each
// call is answered from this process's memory instead (logged once, counted for /metrics and
// /ready), and Redis is tried again a second later.
import { RedisClient } from 'bun'
import { MemoryState, type SharedState, type StateHealth, type WindowCount } from './shared-state.ts'

export interface RedisStateOptions {
  readonly url: string
  /** A command slower than this counts as Redis not answering. */
  readonly commandTimeoutMs?: number
  /** How long to answer from memory before trying Redis again. */
  readonly retryAfterMs?: number
  readonly log: (line: Record<string, unknown>) => void
}

class Timeout extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export class RedisState implements SharedState {
  readonly #memory = new MemoryState()
  readonly #options: Required<Omit<RedisStateOptions, 'log'>> & Pick<RedisStateOptions, 'log'>
  #client: RedisClient | undefined
  /** The connection being opened: concurrent calls wait for the same one instead of opening their own. */
  #connecting: Promise<RedisClient> | undefined
  #down = false
  #retryAt = 0
  #fallbacks = 0

  constructor(options: RedisStateOptions) {
    this.#options = { commandTimeoutMs: 250, retryAfterMs: 1000, ...options }
  }

  /** Runs `command` on Redis, or `fallback` on this process's memory while Redis does not answer. */
  async #use<T>(command: (client: RedisClient) => Promise<T>, fallback: (memory: MemoryState) => Promise<T>): Promise<T> {
    if (this.#down && Date.now() < this.#retryAt) {
      this.#fallbacks++
      return fallback(this.#memory)
    }
    try {
      const client = this.#client?.connected ? this.#client : await (this.#connecting ??= this.#connect())
      const result = await within(command(client), this.#options.commandTimeoutMs)
      if (this.#down) {
        this.#down = false
        this.#options.log({ level: 'info', message: 'shared state: Redis answers again; using it' })
      }
      return result
    } catch (error) {
      if (!this.#down) {
        this.#options.log({ level: 'error', message: "shared state: Redis does not answer; using this process's memory meanwhile", error: String(error) })
      }
      this.#down = true
      this.#retryAt = Date.now() + this.#options.retryAfterMs
      // A client that timed out may still be half-open: the next try starts a new one.
      this.#client?.close()
      this.#client = undefined
      this.#connecting = undefined
      this.#fallbacks++
      return fallback(this.#memory)
    }
  }

  async #connect(): Promise<RedisClient> {
    this.#client?.close()
    // No offline queue: a command while disconnected fails at once instead of waiting.
    const client = new RedisClient(this.#options.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 1000 })
    client.onclose = () => {}
    try {
      await within(client.connect(), 1500)
    } catch (error) {
      client.close()
      throw error
    }
    this.#client = client
    this.#connecting = undefined
    return client
  }

  get(key: string): Promise<string | undefined> {
    return this.#use(
      async (redis) => (await redis.get(key)) ?? undefined,
      (memory) => memory.get(key),
    )
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#use(
      async (redis) => void (await redis.send('SET', [key, value, 'PX', String(Math.max(1, Math.round(ttlMs)))])),
      (memory) => memory.set(key, value, ttlMs),
    )
  }

  hit(key: string, windowMs: number): Promise<WindowCount> {
    return this.#use(
      async (redis) => {
        // Pipelined: the window starts with its first hit (SET NX with the window's lifetime).
        const [, count, ttl] = await Promise.all([
          redis.send('SET', [key, '0', 'PX', String(windowMs), 'NX']),
          redis.incr(key),
          redis.pttl(key),
        ])
        // The key expired between SET and INCR: INCR made one without a lifetime; give it one.
        if (ttl < 0) await redis.pexpire(key, windowMs)
        return { count, resetMs: ttl < 0 ? windowMs : ttl }
      },
      (memory) => memory.hit(key, windowMs),
    )
  }

  peekHits(key: string): Promise<WindowCount> {
    return this.#use(
      async (redis) => {
        const [count, ttl] = await Promise.all([redis.get(key), redis.pttl(key)])
        return count === null || ttl < 0 ? { count: 0, resetMs: 0 } : { count: Number(count), resetMs: ttl }
      },
      (memory) => memory.peekHits(key),
    )
  }

  describe(): StateHealth {
    return { backend: this.#down ? 'memory (redis unavailable)' : 'redis', fallbacks: this.#fallbacks }
  }

  async close(): Promise<void> {
    this.#client?.close()
    this.#client = undefined
  }
}
