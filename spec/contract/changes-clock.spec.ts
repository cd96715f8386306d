// The changes feed's plain mode reads the database's clock, not the service's: with the service's
// clock 5 minutes ahead (or behind), end_time is still the database's time less the lag, and a
// change younger than the lag by the database's clock is not served yet (a clock ahead used to
// serve it, and the cursor then passed changes that committed later).
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { createApp } from '../../src/app.ts'
import { captureSql } from '../../src/sync/capture.ts'
import { CaptureProbe } from '../../src/sync/capture-probe.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { request } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('changes feed clock: the fixture data set')

const LAG = 3

for (const dialect of DIALECTS) {
  describe(`[${dialect}] plain mode's clock is the database's`, () => {
    const ctx = useDatabase(dialect)
    const databaseNow = async () => {
      const capture = captureSql(dialect)
      const { rows } = await sql<{ now: number | string }>`select ${capture.nowEpoch} as now`.execute(ctx.connection.db)
      return Number(rows[0]!.now)
    }
    const appWithClock = (skewSeconds: number) =>
      createApp({
        connection: ctx.connection,
        config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', changesLagSeconds: LAG },
        now: () => new Date(Date.now() + skewSeconds * 1000),
        capture: new CaptureProbe(ctx.connection, { ttlMs: 0 }),
        logError: () => {},
        log: () => {},
      })

    test('end_time is the database\'s time less the lag, whatever the service\'s clock says', async () => {
      for (const skew of [300, -300]) {
        const before = await databaseNow()
        const page = await request(appWithClock(skew), '/api/v1/kpi/conversations/changes?start_time=0', { token: TOKENS.kpiTracker })
        const after = await databaseNow()
        expect(page.body.meta.exact).toBe(false)
        expect(page.body.meta.end_time).toBeGreaterThanOrEqual(Math.floor(before) - LAG)
        expect(page.body.meta.end_time).toBeLessThanOrEqual(Math.floor(after) - LAG)
      }
    })

    test('with the service\'s clock 5 minutes ahead, a change younger than the lag is held back, then served once', async () => {
      const app = appWithClock(300)
      const first = await request(app, '/api/v1/kpi/conversations/changes?start_time=0&page_size=1000', { token: TOKENS.kpiTracker })
      const stamp = new Date((await databaseNow()) * 1000).toISOString().replace('T', ' ').replace('Z', '')
      await ctx.connection.db.updateTable('conversations').set({ status: 2, updated_at: stamp }).where('id', '=', 102).execute()
      const held = await request(app, `/api/v1/kpi/conversations/changes?cursor=${first.body.meta.next_cursor}`, { token: TOKENS.kpiTracker })
      expect(held.body.payload.map((item: { id: number }) => item.id)).not.toContain(102)
      await Bun.sleep((LAG + 1.2) * 1000)
      const served = await request(app, `/api/v1/kpi/conversations/changes?cursor=${held.body.meta.next_cursor}`, { token: TOKENS.kpiTracker })
      expect(served.body.payload.map((item: { id: number }) => item.id)).toEqual([102])
    }, 20_000)
  })
}
