// Contract: the changes feed (GET /api/v1/kpi/conversations/changes), exactly, on the fixture data
// set: order by updated_at then id, start_time inclusive, account scope and allowlist, the lag
// (end_time), resuming from a stored cursor after further changes, the exports, every error.
import { afterEach, describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ChangesPage } from '../../src/kpi/changes.model.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, request, type TestApp } from '../helpers.ts'
import { CONTRACT_NOW, TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('changes feed: exact rows of the fixture data set')

const CHANGES = '/api/v1/kpi/conversations/changes'
const at = (iso: string) => Date.parse(iso) / 1000
/** Every VBET conversation updated before end_time (CONTRACT_NOW − 60 s), by updated_at (= created_at in the fixtures), then id. */
const FEED_ALL = [112, 113, 101, 102, 103, 201, 104, 105, 106, 107, 108, 109, 114, 115, 202]
const END_TIME = at('2026-01-20T11:59:00Z')

function changes(app: TestApp, query: Record<string, string | number> | string, options: Parameters<typeof request>[2] = {}) {
  const search = typeof query === 'string' ? query : new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()
  return request(app, `${CHANGES}?${search}`, options)
}
const ids = (response: { body: { payload: Array<{ id: number }> } }) => response.body.payload.map((item) => item.id)

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the changes feed`, () => {
    const ctx = useDatabase(dialect)
    let now = CONTRACT_NOW.getTime()
    // One app for the file: its cursors are signed with its own secret (none is configured here).
    let shared: TestApp | undefined
    const app = () => (shared ??= contractApp(ctx.connection, { now: () => new Date(now) }))
    const touch = (id: number, updatedAt: string, set: Record<string, unknown> = {}) =>
      ctx.connection.db.updateTable('conversations').set({ updated_at: updatedAt, ...set }).where('id', '=', id).execute()
    afterEach(async () => {
      now = CONTRACT_NOW.getTime()
      await ctx.connection.db.updateTable('conversations').set((eb) => ({ updated_at: eb.ref('created_at') })).execute()
      await ctx.connection.db.updateTable('conversations').set({ status: 1 }).where('id', '=', 101).execute()
    })

    test('from the beginning: every VBET conversation updated before end_time, by updated_at then id; each item the documented one plus updated_time', async () => {
      const response = await changes(app(), { start_time: EVERYTHING.since })
      expect(response.status).toBe(200)
      expect(Value.Check(ChangesPage, response.body)).toBe(true)
      expect(ids(response)).toEqual(FEED_ALL)
      // No change capture in this database: plain mode, and the page says so.
      expect(response.body.meta).toEqual({ page_size: 100, next_cursor: expect.any(String), end_of_stream: true, end_time: END_TIME, exact: false })
      // The same item as the documented endpoint gives, plus when it last changed, and deleted: false.
      const documented = await conversations(app(), { ...EVERYTHING, page_size: 1000 })
      const item = response.body.payload.find((entry: { id: number }) => entry.id === 101)
      const { updated_time, deleted, ...rest } = item
      expect(rest).toEqual(documented.body.payload.find((entry: { id: number }) => entry.id === 101))
      expect(updated_time).toBe('2026-01-10T08:30:00Z')
      expect(deleted).toBe(false)
      expect(Object.keys(item)).toEqual([...Object.keys(rest), 'updated_time', 'deleted'])
    })

    test('ties on updated_at go by id (104 before 105, 103 before 201)', async () => {
      const found = ids(await changes(app(), { start_time: at('2026-01-12T00:00:00Z'), page_size: 4 }))
      expect(found).toEqual([103, 201, 104, 105])
    })

    test('start_time is inclusive, to the second: updated at it is in, one second later it is out', async () => {
      expect(ids(await changes(app(), { start_time: at('2026-01-14T12:00:00Z') }))[0]).toBe(106)
      expect(ids(await changes(app(), { start_time: at('2026-01-14T12:00:01Z') }))[0]).toBe(107)
      // 104 and 105 were updated at 09:00:00.250: within the second start_time names.
      expect(ids(await changes(app(), { start_time: at('2026-01-13T09:00:00Z') })).slice(0, 2)).toEqual([104, 105])
    })

    test('account_id scopes to one VBET account; another account is 401; created_at plays no part', async () => {
      expect(ids(await changes(app(), { start_time: EVERYTHING.since, account_id: 5 }))).toEqual([201, 202])
      expect((await changes(app(), { start_time: EVERYTHING.since, account_id: 4 })).status).toBe(401)
      // 112 was created 101 years ago; updated yesterday, it comes with yesterday's changes.
      await touch(112, '2026-01-19 10:00:00')
      expect(ids(await changes(app(), { start_time: at('2026-01-19T00:00:00Z') }))).toEqual([112])
    })

    test('the lag: a conversation updated 30 s ago is not served yet; once it is older than the lag, it is', async () => {
      await touch(102, '2026-01-20 11:59:30')
      const before = await changes(app(), { start_time: at('2026-01-19T00:00:00Z') })
      expect(ids(before)).toEqual([])
      expect(before.body.meta).toMatchObject({ end_of_stream: true, end_time: END_TIME })
      now += 31_000
      const after = await changes(app(), { cursor: before.body.meta.next_cursor })
      expect(ids(after)).toEqual([102])
      expect(after.body.meta.end_time).toBe(END_TIME + 31)
    })

    test('a walk page by page, then resumed from its stored cursor after more changes: exactly the changed conversations, in their new state', async () => {
      const seen: number[] = []
      let page = await changes(app(), { start_time: EVERYTHING.since, page_size: 4 })
      for (;;) {
        seen.push(...ids(page))
        if (page.body.meta.end_of_stream) break
        expect(page.body.payload).toHaveLength(4)
        page = await changes(app(), { cursor: page.body.meta.next_cursor })
      }
      expect(seen).toEqual(FEED_ALL)
      const stored = page.body.meta.next_cursor

      // Later: two conversations change (101 is reopened), and the clock moves on past the lag.
      await touch(202, '2026-01-20 12:00:00')
      await touch(101, '2026-01-20 12:00:05', { status: 0 })
      now += 120_000
      const resumed = await changes(app(), { cursor: stored })
      expect(ids(resumed)).toEqual([202, 101])
      expect(resumed.body.payload[1]).toMatchObject({ id: 101, status: 'open', updated_time: '2026-01-20T12:00:05Z' })
      expect(resumed.body.meta.end_of_stream).toBe(true)
      // And once more, with nothing changed since: nothing, and the same place to resume from.
      const again = await changes(app(), { cursor: resumed.body.meta.next_cursor })
      expect(ids(again)).toEqual([])
      expect(again.body.meta.end_of_stream).toBe(true)
    })

    test('page_size: 100 by default, clamped to [1, 1000]; a walk keeps its account_id and page_size', async () => {
      expect((await changes(app(), { start_time: 0, page_size: 5000 })).body.meta.page_size).toBe(1000)
      expect((await changes(app(), { start_time: 0, page_size: 0 })).body.meta.page_size).toBe(1)
      const first = await changes(app(), { start_time: EVERYTHING.since, page_size: 2, account_id: 3 })
      expect((await changes(app(), { cursor: first.body.meta.next_cursor, page_size: 2, account_id: 3 })).status).toBe(200)
      const changed = await changes(app(), { cursor: first.body.meta.next_cursor, account_id: 5 })
      expect(changed.status).toBe(422)
      expect(changed.body.error).toContain('account_id')
    })

    test('errors: neither start_time nor cursor, both, a bad start_time, an altered or foreign cursor: 422 naming it; no token: 401 first', async () => {
      const expect422 = async (query: Record<string, string | number> | string, words: string) => {
        const response = await changes(app(), query)
        expect(response.status).toBe(422)
        expect(Object.keys(response.body)).toEqual(['error'])
        expect(response.body.error).toContain(words)
      }
      await expect422({}, 'start_time is required')
      await expect422({ page_size: 5 }, 'start_time is required')
      const cursor = (await changes(app(), { start_time: 0 })).body.meta.next_cursor as string
      await expect422({ start_time: 0, cursor }, 'start_time and cursor')
      for (const text of ['1e3', 'yesterday', '1.5', '+5', ' 5', '']) await expect422(`start_time=${encodeURIComponent(text)}`, 'start_time')
      await expect422('start_time=1&start_time=2', 'start_time must be given at most once')
      await expect422({ cursor: `${cursor.slice(0, -2)}xx` }, 'cursor')
      // A cursor of the documented endpoint's walks is not one of the feed's.
      const pageCursor = (await conversations(app(), { cursor: '', page_size: 2 })).body.meta.next_cursor as string
      await expect422({ cursor: pageCursor }, 'cursor')
      expect((await changes(app(), {}, { token: null })).status).toBe(401)
      expect((await changes(app(), 'start_time=yesterday', { token: 'no-such-token' })).status).toBe(401)
      expect((await changes(app(), { start_time: 0 }, { token: TOKENS.otherUser })).status).toBe(401)
      expect((await request(app(), `${CHANGES}?start_time=0`, { method: 'POST' })).status).toBe(405)
    })

    test('format=csv and ndjson: the feed to end_time, updated_time and deleted last, and X-Next-Cursor resumes right after it', async () => {
      const csv = await changes(app(), { start_time: EVERYTHING.since, format: 'csv' })
      expect(csv.status).toBe(200)
      const lines = csv.text.split('\r\n')
      expect(lines[0]).toEndWith(',contact_identifier,updated_time,deleted')
      expect(lines.slice(1, -1).map((line) => Number(line.split(',')[0]))).toEqual(FEED_ALL)
      expect(lines.find((line) => line.startsWith('101,'))).toEndWith(',2026-01-10T08:30:00Z,false')
      expect(csv.headers.get('content-disposition')).toStartWith('attachment; filename="kpi-conversation-changes_')
      const ndjson = await changes(app(), { start_time: EVERYTHING.since, format: 'ndjson' })
      expect(ndjson.text.trim().split('\n').map((line) => JSON.parse(line).id)).toEqual(FEED_ALL)

      await touch(107, '2026-01-20 11:59:30') // after the export's end_time
      now += 60_000
      const resumed = await changes(app(), { cursor: csv.headers.get('x-next-cursor')! })
      expect(ids(resumed)).toEqual([107])
    })
  })
}
