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
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read()
        if (next.done) {
          ended('complete')
          controller.close()
        } else controller.enqueue(next.value)
      } catch (error) {
        ended('failed')
        controller.error(error)
      }
    },
    async cancel(reason) {
      ended('cancelled')
      await reader.cancel(reason)
    },
  })
}
