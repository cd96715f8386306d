// The periodic full collection (GC_INTERVAL_MS): it collects at its interval until stopped, and
// does nothing at all when off.
import { describe, expect, test } from 'bun:test'
import { startCollector } from '../../src/ops/collector.ts'

describe('startCollector', () => {
  test('collects every interval, and no more once stopped', async () => {
    let runs = 0
    const collector = startCollector(100, () => runs++)
    await Bun.sleep(450)
    expect(runs).toBeGreaterThanOrEqual(3)
    expect(runs).toBeLessThanOrEqual(5)
    collector.stop()
    const stoppedAt = runs
    await Bun.sleep(300)
    expect(runs).toBe(stoppedAt)
  })
  test('0 is off: it never collects', async () => {
    let runs = 0
    startCollector(0, () => runs++).stop()
    const off = startCollector(0, () => runs++)
    await Bun.sleep(250)
    off.stop()
    expect(runs).toBe(0)
  })
})
