// What must keep holding in both modes of the changes feed: 5,400 conversations with one and the
// same updated_at, walked at page sizes 1, 7, 100 and 1000, arrive exactly once each; and while 300
// of them move on (updated again, later) during the walk, every one still arrives, the moved ones
// again in their new state, and the copy at rest equals the database.
import { beforeAll, describe, expect, test } from 'bun:test'
import { CaptureProbe } from '../../src/sync/capture-probe.ts'
import { installCapture, removeCapture } from '../../src/sync/capture.ts'
import { installationConfigRow, serializedAccountIds } from '../../fixtures/insert.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'
import { contractApp, request, type TestApp } from '../helpers.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'

localOnly('changes feed: a tie of 5,400 rows')

const TOKEN = 'changes-ties-token-000001'
const ROWS = 5400
const TIE = '2026-01-10 12:00:00'
const LATER = '2026-01-10 12:30:00'
const NOW = new Date('2026-01-11T00:00:00Z')

function world() {
  const faker = seededFaker(5400)
  return {
    users: [{ id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' }],
    access_tokens: [{ id: 1, owner_type: 'User', owner_id: 1, token: TOKEN }],
    accounts: [{ id: 1, name: 'One' }, { id: 2, name: 'Two' }],
    conversations: Array.from({ length: ROWS }, (_, index) =>
      buildConversation(faker, { id: index + 1, account_id: 1 + (index % 2), display_id: index + 1, created_at: TIE, updated_at: TIE }),
    ),
    installation_configs: [installationConfigRow(serializedAccountIds('1,2'))],
  }
}

for (const dialect of DIALECTS) {
  for (const mode of ['plain', 'exact'] as const) {
    describe(`[${dialect}] ${mode} mode: ${ROWS} rows with one updated_at`, () => {
      const ctx = useDatabase(dialect, world, { timeout: 60_000 })
      let app: TestApp
      beforeAll(async () => {
        if (mode === 'exact') await installCapture(ctx.connection, { retentionDays: 30 })
        else await removeCapture(ctx.connection)
        app = contractApp(ctx.connection, { now: () => NOW, capture: new CaptureProbe(ctx.connection, { ttlMs: 0 }) })
      })

      /** Walks from start_time to end_of_stream; `during(page)` runs after each page. */
      const walk = async (pageSize: number, during: (page: number) => Promise<void> = async () => {}) => {
        const ids: number[] = []
        const last = new Map<number, string>()
        let query = `start_time=0&page_size=${pageSize}`
        for (let page = 1; ; page++) {
          const answer = await request(app, `/api/v1/kpi/conversations/changes?${query}`, { token: TOKEN })
          if (answer.status !== 200) throw new Error(`${answer.status} ${answer.text}`)
          expect(answer.body.meta.exact).toBe(mode === 'exact')
          for (const item of answer.body.payload) {
            ids.push(item.id)
            last.set(item.id, item.status)
          }
          if (answer.body.meta.end_of_stream) return Object.assign(ids, { last })
          await during(page)
          query = `cursor=${answer.body.meta.next_cursor}`
        }
      }

      // Page size 1 (5,400 requests, half a minute) on the production dialect only.
      for (const pageSize of dialect === 'postgres' ? [1000, 100, 7, 1] : [1000, 100, 7]) {
        test(`page_size ${pageSize}: every row exactly once`, async () => {
          const ids = await walk(pageSize)
          expect(ids.length).toBe(ROWS)
          expect(new Set(ids).size).toBe(ROWS)
        }, 120_000)
      }

      test('page_size 100 while 300 of them move on: the others exactly once, the moved ones at least once and last in their new state', async () => {
        const moved = Array.from({ length: 300 }, (_, index) => 1 + index * 18)
        const ids = await walk(100, async (page) => {
          // After each of the first 30 pages, ten rows (ahead of the walk and behind it) are updated later.
          if (page <= 30) {
            const batch = moved.slice((page - 1) * 10, page * 10)
            await ctx.connection.db.updateTable('conversations').set({ status: 2, updated_at: LATER }).where('id', 'in', batch).execute()
          }
        })
        const counts = new Map<number, number>()
        for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1)
        expect(counts.size).toBe(ROWS)
        const unmoved = [...counts].filter(([id]) => !moved.includes(id))
        expect(unmoved.every(([, count]) => count === 1)).toBe(true)
        // A moved row comes again after its move: never lost, its last delivery in the state it moved to.
        expect(moved.every((id) => (counts.get(id) ?? 0) >= 1)).toBe(true)
        expect(moved.filter((id) => ids.last.get(id) !== 'pending')).toEqual([])
      }, 120_000)
    })
  }
}
