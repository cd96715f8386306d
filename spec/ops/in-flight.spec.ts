// untilEnd (src/ops/in-flight.ts) tells how a streamed body ended exactly once. A client that
// leaves while the next chunk is being read (an export waiting on the database) made it say
// "cancelled", then "complete", then "failed": three log lines for one export, two of them wrong.
import { describe, expect, test } from 'bun:test'
import { untilEnd, type StreamOutcome } from '../../src/ops/in-flight.ts'

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
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(untilEnd(body, (outcome) => outcomes.push(outcome))) })
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
    expect(await new Response(untilEnd(body, (outcome) => outcomes.push(outcome))).text()).toBe('a,b\r\nc,d\r\n')
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
    await new Response(untilEnd(body, (outcome) => outcomes.push(outcome))).text().catch(() => {})
    expect(outcomes).toEqual(['failed'])
  })
})
