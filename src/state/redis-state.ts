// The shared state in Redis (REDIS_URL), through Bun's built-in client, so that every instance
// behind a load balancer sees the same rate-limit windows, counts, token owners and page ends.
// Redis is a help, not a dependency, and never a wait: each command gets a short timeout
// (REDIS_COMMAND_TIMEOUT_MS, 50 ms); the first one that fails opens a breaker, and from then on
// every call is answered from this process's memory at once (logged once, counted for /metrics and
// /ready) while a background probe tries Redis again. No request waits for a connection or a probe,
// and recovery is noticed without traffic: /ready says redis again as soon as the probe gets an
// answer.
import { RedisClient } from 'bun'
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '../config.ts'
import { MemoryState, type SharedState, type StateHealth, type WindowCount } from './shared-state.ts'

export interface RedisStateOptions {
  readonly url: string
  /** A command without an answer within this many ms counts as Redis not answering. */
  readonly commandTimeoutMs?: number
  /** How long the background probe waits between two tries while Redis does not answer. */
  readonly probeIntervalMs?: number
  /** How long one try to connect may take (a hung Redis accepts the connection and never answers). */
  readonly connectTimeoutMs?: number
  readonly log: (line: Record<string, unknown>) => void
}

class Timeout extends Error {}

/**
 * `work`, or a Timeout after `ms`. A timer that fires late because the whole process paused (a
 * collection, a busy moment on a shared core) would blame Redis for an answer already waiting in
 * the socket: the verdict waits for one more turn of the event loop, which reads the sockets
 * (measured: a 120 ms pause over a 50 ms timeout was a timeout in 12 of 20 tries without it, 0 with it).
 */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => setTimeout(() => settled || reject(new Timeout(`no answer within ${ms} ms`)), 0), ms)
    work.then(
      (value) => {
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        settled = true
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

export class RedisState implements SharedState {
  readonly #memory = new MemoryState()
  readonly #options: Required<Omit<RedisStateOptions, 'log'>> & Pick<RedisStateOptions, 'log'>
  #client: RedisClient | undefined
  /** The first connection, being opened: the calls that come meanwhile wait for it (within their timeout). */
  #connecting: Promise<RedisClient> | undefined
  /** Open: Redis did not answer; every call uses memory until the probe gets an answer. */
  #open = false
  #probe: ReturnType<typeof setTimeout> | undefined
  #closed = false
  #fallbacks = 0
  #timeouts = 0

  constructor(options: RedisStateOptions) {
    this.#options = { commandTimeoutMs: DEFAULT_REDIS_COMMAND_TIMEOUT_MS, probeIntervalMs: 250, connectTimeoutMs: 1000, ...options }
    this.#connecting = this.#connect()
    this.#connecting.then(
      (client) => {
        this.#connecting = undefined
        // Too late (the calls that waited for it gave up, and the probe opens its own), or closed meanwhile.
        if (this.#open || this.#closed) client.close()
        else this.#client = client
      },
      (error) => {
        this.#connecting = undefined
        this.#trip(error)
      },
    )
  }

  /** Resolves once the first connection is open or has failed (the server waits for it before it listens). */
  async ready(): Promise<void> {
    await this.#connecting?.catch(() => {})
  }

  /** Runs `command` on Redis, or `fallback` on this process's memory while the breaker is open. */
  async #use<T>(command: (client: RedisClient) => Promise<T>, fallback: (memory: MemoryState) => Promise<T>): Promise<T> {
    if (!this.#open) {
      try {
        const client = this.#client?.connected ? this.#client : this.#connecting ? await within(this.#connecting, this.#options.commandTimeoutMs) : undefined
        // The connection went away (Redis restarted, a network cut): no request waits for a new one.
        if (!client) throw new Error('the connection to Redis closed')
        return await within(command(client), this.#options.commandTimeoutMs)
      } catch (error) {
        this.#trip(error)
      }
    }
    this.#fallbacks++
    return fallback(this.#memory)
  }

  /** Opens the breaker (once: the calls in flight when Redis stopped answering all land here) and starts the probe. */
  #trip(error: unknown): void {
    if (error instanceof Timeout) this.#timeouts++
    if (this.#open || this.#closed) return
    this.#open = true
    this.#options.log({ level: 'error', message: "shared state: Redis does not answer; using this process's memory meanwhile", error: String(error) })
    // A client that timed out may still be half-open: the probe starts a new one.
    this.#client?.close()
    this.#client = undefined
    this.#scheduleProbe()
  }

  #scheduleProbe(): void {
    if (this.#closed) return
    this.#probe = setTimeout(() => void this.#tryAgain(), this.#options.probeIntervalMs)
    // The probe alone does not keep the process alive.
    this.#probe.unref?.()
  }

  /** The probe: a new connection and a PING; on an answer, Redis is used again. */
  async #tryAgain(): Promise<void> {
    try {
      const client = await this.#connect()
      await within(client.send('PING', []), this.#options.connectTimeoutMs).catch((error) => {
        client.close()
        throw error
      })
      if (this.#closed) return client.close()
      this.#client = client
      this.#open = false
      this.#options.log({ level: 'info', message: 'shared state: Redis answers again; using it' })
    } catch {
      this.#scheduleProbe()
    }
  }

  async #connect(): Promise<RedisClient> {
    // No offline queue: a command while disconnected fails at once instead of waiting.
    const client = new RedisClient(this.#options.url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: this.#options.connectTimeoutMs })
    client.onclose = () => {}
    try {
      await within(client.connect(), this.#options.connectTimeoutMs + 500)
    } catch (error) {
      client.close()
      throw error
    }
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
    return { backend: this.#open ? 'memory (redis unavailable)' : 'redis', fallbacks: this.#fallbacks, timeouts: this.#timeouts }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#probe)
    this.#client?.close()
    this.#client = undefined
  }
}
