// untilEnd (src/ops/in-flight.ts) tells how a streamed body ended exactly once, with the rows and
// bytes handed over. A client that leaves while the next chunk is being read (an export waiting on
// the database) made it say "cancelled", then "complete", then "failed": three log lines for one
// export, two of them wrong. A client that takes nothing for the write timeout is cut ("stalled");
// what the shutdown grace cuts says "shutdown", not "cancelled".
import { describe, expect, test } from 'bun:test'
import { InFlight, untilEnd, withRows, type StreamEnd, type StreamOutcome } from '../../src/ops/in-flight.ts'

describe('untilEnd', () => {
  test('a client that leaves while the next chunk is being read: "cancelled", once', async () => {
    const outcomes: StreamOutcome[] = []
    let answerRead!: () => void
    let pulls = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) return controller.enqueue(new TextEncoder().encode('first\n'))
        // The next chunk waits on the database...
        await new Promise<void>((resolve) => (answerRead = resolve))
        controller.enqueue(new TextEncoder().encode('late\n'))
      },
      // ...and the source's cancel waits for that read, as an export's does.
      async cancel() {
        await Bun.sleep(20)
      },
    })
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(untilEnd(body, ({ outcome }) => outcomes.push(outcome)).stream) })
    try {
      const reader = (await fetch(`http://127.0.0.1:${server.port}/`)).body!.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first\n')
      await reader.cancel()
      await Bun.sleep(100)
      answerRead?.()
      await Bun.sleep(100)
      expect(outcomes).toEqual(['cancelled'])
    } finally {
      server.stop(true)
    }
  })

  test('read to its end: the same bytes, and "complete" once', async () => {
    const outcomes: StreamOutcome[] = []
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('a,b\r\n'))
        controller.enqueue(new TextEncoder().encode('c,d\r\n'))
        controller.close()
      },
    })
    expect(await new Response(untilEnd(body, ({ outcome }) => outcomes.push(outcome)).stream).text()).toBe('a,b\r\nc,d\r\n')
    expect(outcomes).toEqual(['complete'])
  })

  test('failed midway: "failed" once', async () => {
    const outcomes: StreamOutcome[] = []
    let pulls = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('row\n'))
        else controller.error(new Error('the database went away'))
      },
    })
    await new Response(untilEnd(body, ({ outcome }) => outcomes.push(outcome)).stream).text().catch(() => {})
    expect(outcomes).toEqual(['failed'])
  })

  test('says the rows and bytes handed over, and the error of a failure', async () => {
    const ends: unknown[] = []
    let pulls = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ < 2) controller.enqueue(withRows(new TextEncoder().encode('row\nrow\n'), 2))
        else controller.error(new Error('the database went away'))
      },
    })
    await new Response(untilEnd(body, (end) => ends.push(end)).stream).text().catch(() => {})
    expect(ends).toEqual([{ outcome: 'failed', rows: 4, bytes: 16, error: new Error('the database went away') }])
  })

  test('a chunk not taken within the write timeout: "stalled" once, the producer cancelled, the connection closed', async () => {
    const ends: StreamEnd[] = []
    let cancelled: unknown
    let closed = 0
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(withRows(new Uint8Array(10), 1)),
      cancel: (reason) => void (cancelled = reason),
    })
    const tracked = untilEnd(body, (end) => ends.push(end), { writeTimeoutMs: 50, onCut: () => closed++ })
    const reader = tracked.stream.getReader()
    await reader.read() // one chunk taken, then nothing: a client that stopped reading
    await Bun.sleep(150)
    expect(ends).toEqual([{ outcome: 'stalled', rows: 1, bytes: 10 }])
    expect(cancelled).toBe('stalled')
    expect(closed).toBe(1)
    await expect(reader.read()).rejects.toThrow('the client stopped reading')
  })

  test('a reader that keeps taking chunks, however slowly the producer makes them, is never stalled', async () => {
    const ends: StreamEnd[] = []
    let pulls = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 3) return controller.close()
        await Bun.sleep(80) // the database, slower than the write timeout: not the client's fault
        controller.enqueue(new Uint8Array(1))
      },
    })
    await new Response(untilEnd(body, (end) => ends.push(end), { writeTimeoutMs: 50 }).stream).arrayBuffer()
    expect(ends.map((end) => end.outcome)).toEqual(['complete'])
  })

  test('InFlight.cutAll("shutdown") cuts every body still open, each once, and says so', async () => {
    const inFlight = new InFlight()
    const outcomes: StreamOutcome[] = []
    for (let i = 0; i < 3; i++) {
      const tracked = untilEnd(new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(new Uint8Array(1)) }), ({ outcome }) => {
        untrack()
        outcomes.push(outcome)
      })
      const untrack = inFlight.track(tracked.cut)
      await tracked.stream.getReader().read()
    }
    expect(inFlight.cutAll('shutdown')).toBe(3)
    expect(outcomes).toEqual(['shutdown', 'shutdown', 'shutdown'])
    expect(inFlight.cutAll('shutdown')).toBe(0)
  })
})
