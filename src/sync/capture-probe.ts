// Whether the changes feed can be exact here: the change capture installed, whole, and readable by
// the service's role. Asked on every feed request, read from the database at most every 30 s (an
// install or a removal is noticed within that), and each change of state is logged once.
import type { Connection } from '../db/dialect.ts'
import { readCaptureStatus, type CaptureStatus } from './capture.ts'

export interface CaptureMode {
  readonly exact: boolean
  /** The retention the capture prunes with (exact mode). */
  readonly retentionDays?: number
}

export interface CaptureProbeOptions {
  /** How long an answer is reused. */
  readonly ttlMs?: number
  /** Told of each change of state (and of the first one, unless the capture is simply absent). */
  readonly log?: (line: Record<string, unknown>) => void
  readonly clock?: () => number
}

export const CAPTURE_PROBE_TTL_MS = 30_000

/** What each state means for the feed, as logged. */
function describe(status: CaptureStatus): { level: string; message: string } {
  if (status.state === 'installed' && status.readable) return { level: 'info', message: 'change capture installed: the changes feed is exact' }
  if (status.state === 'installed') {
    return { level: 'warn', message: 'change capture installed, but this role may not read it (npm run change-capture -- install --grant <role>): the changes feed stays plain' }
  }
  if (status.state === 'partially installed') {
    return { level: 'warn', message: 'change capture partially installed (npm run change-capture -- status; install again): the changes feed stays plain' }
  }
  return { level: 'info', message: 'change capture not installed: the changes feed is plain' }
}

export class CaptureProbe {
  #mode: CaptureMode | undefined
  #readAt = -Infinity
  #reading: Promise<CaptureMode> | undefined
  #described: string | undefined
  readonly #ttlMs: number
  readonly #clock: () => number

  constructor(
    private readonly connection: Connection,
    private readonly options: CaptureProbeOptions = {},
  ) {
    this.#ttlMs = options.ttlMs ?? CAPTURE_PROBE_TTL_MS
    this.#clock = options.clock ?? (() => Date.now())
  }

  /**
   * Exact or plain, as the database says (at most ttlMs ago).
   * @throws when the database does not answer (the request is then answered 503).
   */
  async mode(): Promise<CaptureMode> {
    if (this.#mode && this.#clock() - this.#readAt < this.#ttlMs) return this.#mode
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined))
    return this.#reading
  }

  async #read(): Promise<CaptureMode> {
    const status = await readCaptureStatus(this.connection)
    const { level, message } = describe(status)
    if (message !== this.#described && (this.#described !== undefined || status.state !== 'not installed')) this.options.log?.({ level, message })
    this.#described = message
    this.#mode = status.state === 'installed' && status.readable ? { exact: true, retentionDays: status.retentionDays } : { exact: false }
    this.#readAt = this.#clock()
    return this.#mode
  }
}
