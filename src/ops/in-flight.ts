// The requests a server is still answering, streamed bodies included until their last byte: Bun's
// server.stop() waits for handlers, not for a streamed body a slow client is still reading, so a
// graceful stop waits on this instead (within its grace period), and past it cuts what is left.
// And how each streamed body ends, exactly once: handed whole to the socket, cancelled by the
// client, cut for a client that stopped reading (the write timeout), cut by the shutdown grace, or
// failed; with the rows and bytes handed over.

/** Why the server cuts a streamed body. */
export type CutReason = 'stalled' | 'shutdown'

export class InFlight {
  #count = 0
  #idle: Array<() => void> = []
  readonly #streams = new Set<(reason: CutReason) => void>()

  get count(): number {
    return this.#count
  }

  /** Counts one request; the returned function (idempotent) says it is over. */
  begin(): () => void {
    this.#count++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      if (--this.#count === 0) for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve))
  }

  /** Keeps a streamed body's cut at hand until the returned function is called (at its end). */
  track(cut: (reason: CutReason) => void): () => void {
    this.#streams.add(cut)
    return () => this.#streams.delete(cut)
  }

  /** Cuts every streamed body still open (the shutdown grace is over); how many there were. */
  cutAll(reason: CutReason): number {
    const open = [...this.#streams]
    for (const cut of open) cut(reason)
    return open.length
  }
}

/** How a streamed body ended. */
export type StreamOutcome = 'complete' | 'cancelled' | 'failed' | CutReason

export interface StreamEnd {
  readonly outcome: StreamOutcome
  /** Bytes and rows (as the producer counted them, rowsIn) handed to the server to send. */
  readonly bytes: number
  readonly rows: number
  /** What failed, for `failed`. */
  readonly error?: unknown
}

const ROWS = new WeakMap<Uint8Array, number>()

/** Tags a chunk of a streamed body with the rows it holds (read back as it is handed over). */
export function withRows(chunk: Uint8Array, rows: number): Uint8Array {
  ROWS.set(chunk, rows)
  return chunk
}

export interface TrackOptions {
  /**
   * A chunk the server has not taken within this many ms means the client stopped reading (the
   * socket's buffers are full): the body is cut.
   */
  readonly writeTimeoutMs?: number
  /** Called when the body is cut (stalled or shutdown): closes the connection (Bun.serve: server.timeout). */
  readonly onCut?: () => void
}

export interface TrackedBody {
  readonly stream: ReadableStream<Uint8Array>
  /** Ends the body now, for `reason`: the producer is cancelled (its database work stops) and the connection closed. */
  cut(reason: CutReason): void
}

/**
 * `body`, passed through unchanged, calling `ended` once with how it ended. The server pulls a chunk
 * when it wants one to send (highWaterMark 0: nothing is read ahead here), so "complete" means the
 * last byte was handed to the socket when the producer said it was done; bytes still in the
 * operating system's buffers are beyond what the process can see.
 */
export function untilEnd(body: ReadableStream<Uint8Array>, ended: (end: StreamEnd) => void, options: TrackOptions = {}): TrackedBody {
  const reader = body.getReader()
  let bytes = 0
  let rows = 0
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let stall: ReturnType<typeof setTimeout> | undefined
  // The first outcome is the one: a client that leaves while a chunk is being read ends that read
  // too (done), and closing what the client cancelled then throws; neither is how it ended.
  let outcome: StreamOutcome | undefined
  const end = (how: StreamOutcome, error?: unknown) => {
    if (outcome !== undefined) return false
    outcome = how
    clearTimeout(stall)
    ended({ outcome: how, bytes, rows, ...(error === undefined ? {} : { error }) })
    return true
  }
  const cut = (reason: CutReason) => {
    if (!end(reason)) return
    // The producer stops (its statement ends, its connection and pool share go back) ...
    reader.cancel(reason).catch(() => {})
    // ... and so does the response (Bun then sends nothing more), and the connection is closed.
    try {
      controller.error(new Error(reason === 'stalled' ? 'the client stopped reading' : 'the server is stopping'))
    } catch {
      // closed already
    }
    options.onCut?.()
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(given) {
        controller = given
      },
      async pull() {
        clearTimeout(stall)
        try {
          const next = await reader.read()
          if (outcome !== undefined) return
          if (next.done) {
            end('complete')
            controller.close()
            return
          }
          bytes += next.value.byteLength
          rows += ROWS.get(next.value) ?? 0
          controller.enqueue(next.value)
          if (options.writeTimeoutMs !== undefined) stall = setTimeout(() => cut('stalled'), options.writeTimeoutMs)
        } catch (error) {
          if (end('failed', error)) controller.error(error)
        }
      },
      async cancel(reason) {
        end('cancelled')
        await reader.cancel(reason).catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, cut }
}
