// How the service finds the change capture: asked at every feed request, read from the database at
// most every 30 s (an install or a removal is noticed within that), each change of state logged once.
import { describe, expect, test } from 'bun:test'
import { CAPTURE_PROBE_TTL_MS, CaptureProbe } from '../../src/sync/capture-probe.ts'
import { installCapture, removeCapture } from '../../src/sync/capture.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'

localOnly('the capture probe: a database of its own')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the capture probe`, () => {
    const ctx = useDatabase(dialect, () => ({}))
    test('an install and a removal are noticed once the answer is older than 30 s, and each logged once', async () => {
      let clock = 0
      const lines: Array<Record<string, unknown>> = []
      const probe = new CaptureProbe(ctx.connection, { clock: () => clock, log: (line) => lines.push(line) })
      expect(CAPTURE_PROBE_TTL_MS).toBe(30_000)
      expect(await probe.mode()).toEqual({ exact: false })
      // Absent from the start: nothing to say.
      expect(lines).toEqual([])
      await installCapture(ctx.connection, { retentionDays: 10 })
      clock += 29_000
      expect(await probe.mode()).toEqual({ exact: false })
      clock += 1_000
      expect(await probe.mode()).toEqual({ exact: true, retentionDays: 10 })
      clock += 30_000
      expect(await probe.mode()).toEqual({ exact: true, retentionDays: 10 })
      expect(lines).toEqual([{ level: 'info', message: 'change capture installed: the changes feed is exact' }])
      await removeCapture(ctx.connection)
      clock += 30_000
      expect(await probe.mode()).toEqual({ exact: false })
      expect(lines.at(-1)).toEqual({ level: 'info', message: 'change capture not installed: the changes feed is plain' })
      expect(lines).toHaveLength(2)
    })
  })
}
