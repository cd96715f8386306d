// The requests a server is still answering, streamed bodies included until their last byte: Bun's
// server.stop() waits for handlers, not for a streamed body a slow client is still reading, so a
// graceful stop waits on this instead (within its grace period).

export class InFlight {
  #count = 0
  #idle: Array<() => void> = []

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
}

/** How a streamed body ended: read to its end, failed (the response is cut), or cancelled by the client. */
export type StreamOutcome = 'complete' | 'failed' | 'cancelled'

/** `body`, passed through unchanged, calling `ended` once when it is read to the end, fails or is cancelled. */
export function untilEnd(body: ReadableStream<Uint8Array>, ended: (outcome: StreamOutcome) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  // The first outcome is the one: a client that leaves while a chunk is being read ends that read
  // too (done), and closing what the client cancelled then throws; neither is how it ended.
  let outcome: StreamOutcome | undefined
  const end = (how: StreamOutcome) => {
    if (outcome !== undefined) return false
    outcome = how
    ended(how)
    return true
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read()
        if (outcome !== undefined) return
        if (next.done) {
          end('complete')
          controller.close()
        } else controller.enqueue(next.value)
      } catch (error) {
        if (end('failed')) controller.error(error)
      }
    },
    async cancel(reason) {
      end('cancelled')
      await reader.cancel(reason)
    },
  })
}
