// Contract: the changes feed in exact mode (the change capture installed), on the fixture data
// set, on both databases: a walk from start_time brings every conversation updated since, then
// every change once it is committed, however late, in its new state; deletions as deletion items;
// changes of assignees, contacts and labels, and updates that leave updated_at alone, delivered
// again; allowlist changes announced, an added account backfilled, a removed one never shown
// again; an exact cursor older than the retention is 410; downloads carry deletions too.
import { beforeAll, describe, expect, test } from 'bun:test'
import { Database as SqliteDatabase } from 'bun:sqlite'
import { Value } from '@sinclair/typebox/value'
import pg from 'pg'
import { ChangesPage } from '../../src/kpi/changes.model.ts'
import { CaptureProbe } from '../../src/sync/capture-probe.ts'
import { installCapture, removeCapture } from '../../src/sync/capture.ts'
import { VBET_ACCOUNT_IDS_CONFIG } from '../../src/kpi/conversations.repository.ts'
import { serializedAccountIds } from '../../fixtures/insert.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, request, type TestApp, type TestResponse } from '../helpers.ts'

localOnly('changes feed, exact mode: the fixture data set with the change capture')

const CHANGES = '/api/v1/kpi/conversations/changes'

function changes(app: TestApp, query: Record<string, string | number>) {
  return request(app, `${CHANGES}?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`)
}

/** Pages from `query` until end_of_stream: every item in order, every page, and the cursor to resume from. */
async function walk(app: TestApp, query: Record<string, string | number>) {
  const pages: TestResponse[] = []
  const items: any[] = []
  let page = await changes(app, query)
  for (let n = 0; ; n++) {
    if (page.status !== 200) throw new Error(`${JSON.stringify(query)}: ${page.status} ${page.text}`)
    expect(Value.Check(ChangesPage, page.body)).toBe(true)
    pages.push(page)
    items.push(...page.body.payload)
    if (page.body.meta.end_of_stream) return { pages, items, cursor: page.body.meta.next_cursor as string }
    if (n > 200) throw new Error('the walk did not end')
    page = await changes(app, { cursor: page.body.meta.next_cursor })
  }
}
const idsOf = (items: Array<{ id: number }>) => items.map((item) => item.id)

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the changes feed, exact mode`, () => {
    const ctx = useDatabase(dialect)
    let app: TestApp
    const db = () => ctx.connection.db
    const setAllowlist = (ids: string) =>
      db().updateTable('installation_configs').set({ serialized_value: serializedAccountIds(ids) }).where('name', '=', VBET_ACCOUNT_IDS_CONFIG).execute()
    beforeAll(async () => {
      await installCapture(ctx.connection, { retentionDays: 30 })
      // The probe asks at every request here (30 s in the service).
      app = contractApp(ctx.connection, { capture: new CaptureProbe(ctx.connection, { ttlMs: 0 }), logError: (message, error) => console.error(message, error) })
    })

    test('a walk from start_time: every VBET conversation updated since, each once, whole and as the documented endpoint shows it; meta.exact true', async () => {
      const documented = (await conversations(app, { ...EVERYTHING, page_size: 1000 })).body.payload
      for (const pageSize of [1, 7, 100]) {
        const { items, pages } = await walk(app, { start_time: EVERYTHING.since, page_size: pageSize })
        expect(pages.every((page) => page.body.meta.exact === true)).toBe(true)
        // Without the lag of plain mode: 110 and 111, updated at their creation after the pinned clock, are in.
        expect(idsOf(items).sort()).toEqual(idsOf(documented).sort())
        expect(idsOf(items)).toContain(111)
        for (const item of items.filter((entry) => entry.id === 101 || entry.id === 201)) {
          const { updated_time, deleted, ...rest } = item
          expect(rest).toEqual(documented.find((entry: { id: number }) => entry.id === item.id))
          expect(deleted).toBe(false)
        }
        expect(pages.every((page) => page.body.meta.accounts_added === undefined && page.body.meta.accounts_removed === undefined)).toBe(true)
      }
      // start_time still filters what the walk starts with: conversations updated before it are not in.
      const recent = await walk(app, { start_time: Date.parse('2026-01-17T00:00:00Z') / 1000 })
      expect(idsOf(recent.items).sort()).toEqual([110, 111, 114, 115, 202])
    })

    test('later changes come once, in their new state, whatever changed: an update that leaves updated_at alone, an assignee renamed, a contact identifier, labels, a tag renamed', async () => {
      const { cursor } = await walk(app, { start_time: EVERYTHING.since })
      expect((await walk(app, { cursor })).items).toEqual([])

      // Bulk SQL that does not touch updated_at (the platform's update_columns does the same).
      await db().updateTable('conversations').set({ status: 2 }).where('id', '=', 102).execute()
      // Jane Smith (user 7) assigned to 101 (VBET 3), 201 (VBET 5) and 301 (account 4, not VBET).
      await db().updateTable('users').set({ name: 'Jane Smith-Doe' }).where('id', '=', 7).execute()
      // Contact 57 is 201's.
      await db().updateTable('contacts').set({ identifier: 'vbet5-user-renamed' }).where('id', '=', 57).execute()
      // A label added to 104, one taken from 103.
      await db().insertInto('taggings').values({ id: 500, tag_id: 1, taggable_type: 'Conversation', taggable_id: 104, context: 'labels' }).execute()
      await db().deleteFrom('taggings').where('id', '=', 21).execute()
      const { items, cursor: next } = await walk(app, { cursor })
      expect(idsOf(items)).toEqual([102, 101, 201, 201, 104, 103])
      const last = new Map(items.map((item) => [item.id, item]))
      expect(last.get(102)).toMatchObject({ status: 'pending', deleted: false })
      expect(last.get(101).assignee).toEqual({ id: 7, name: 'Jane Smith-Doe', email: 'jane@example.com' })
      expect(last.get(201).contact).toEqual({ id: 57, identifier: 'vbet5-user-renamed' })
      const documented = new Map(((await conversations(app, { ...EVERYTHING, page_size: 1000 })).body.payload as any[]).map((item) => [item.id, item]))
      expect(last.get(104).labels).toEqual(documented.get(104).labels)
      expect(last.get(103).labels).toEqual(documented.get(103).labels)
      expect(last.get(103).labels).not.toContain((await db().selectFrom('tags').select('name').where('id', '=', 2).executeTakeFirstOrThrow()).name)

      // A tag renamed: every conversation labelled with it (tag 1: 101, 103, 104 in VBET accounts; 301 is not).
      await db().updateTable('tags').set({ name: 'urgent-renamed' }).where('id', '=', 1).execute()
      const renamed = await walk(app, { cursor: next })
      expect(idsOf(renamed.items)).toEqual([101, 103, 104])
      expect(renamed.items.every((item) => item.labels.includes('urgent-renamed'))).toBe(true)
      expect((await walk(app, { cursor: renamed.cursor })).items).toEqual([])
    })

    test('a deleted conversation comes once, as {id, account_id, deleted: true, updated_time} within the deleting transaction; another account\'s deletion does not come', async () => {
      const { cursor } = await walk(app, { start_time: EVERYTHING.since })
      const started = Math.floor(Date.now() / 1000)
      await db().deleteFrom('conversations').where('id', 'in', [108, 302]).execute()
      const ended = Math.ceil(Date.now() / 1000)
      const { items, cursor: next } = await walk(app, { cursor })
      expect(items).toEqual([{ id: 108, account_id: 3, deleted: true, updated_time: expect.any(String) }])
      const at = Date.parse(items[0].updated_time) / 1000
      expect(at).toBeGreaterThanOrEqual(started)
      expect(at).toBeLessThanOrEqual(ended)
      expect((await walk(app, { cursor: next })).items).toEqual([])
    })

    test('a change committed late comes once it commits, even with an updated_at from a clock far behind, and never twice', async () => {
      const { cursor } = await walk(app, { start_time: EVERYTHING.since })
      const held = await holdUpdate(ctx.database.config, 105, { status: 0, updated_at: '2026-01-01 00:00:00' })
      try {
        // Meanwhile another change commits (PostgreSQL; SQLite has one writer at a time); the walk reads on.
        if (dialect === 'postgres') await db().updateTable('conversations').set({ status: 0 }).where('id', '=', 106).execute()
        const during = await walk(app, { cursor })
        expect(idsOf(during.items)).not.toContain(105)
        await held.commit()
        const after = await walk(app, { cursor: during.cursor })
        expect(idsOf([...during.items, ...after.items]).sort()).toEqual(dialect === 'postgres' ? [105, 106] : [105])
        expect(after.items.find((item) => item.id === 105)).toMatchObject({ status: 'open', updated_time: '2026-01-01T00:00:00Z' })
        expect((await walk(app, { cursor: after.cursor })).items).toEqual([])
      } finally {
        await held.release()
      }
    })

    test('the allowlist: an account added is announced and backfilled in the same walk; one removed is announced and never shown again', async () => {
      const { cursor } = await walk(app, { start_time: EVERYTHING.since })
      await setAllowlist('3,4,5')
      const added = await walk(app, { cursor })
      expect(added.pages[0]!.body.meta.accounts_added).toEqual([4])
      expect(added.pages.slice(1).every((page) => page.body.meta.accounts_added === undefined)).toBe(true)
      // Every current conversation of account 4 (302 was deleted above), in its current state.
      expect(idsOf(added.items)).toEqual([301])
      expect(added.items[0]).toMatchObject({ account_id: 4, deleted: false })

      await setAllowlist('3,4')
      await db().updateTable('conversations').set({ status: 3 }).where('id', '=', 202).execute()
      await db().deleteFrom('conversations').where('id', '=', 201).execute()
      const removed = await walk(app, { cursor: added.cursor })
      expect(removed.pages[0]!.body.meta.accounts_removed).toEqual([5])
      expect(removed.pages[0]!.body.meta.accounts_added).toBeUndefined()
      expect(removed.items).toEqual([])
      const quiet = await walk(app, { cursor: removed.cursor })
      expect(quiet.pages.every((page) => page.body.meta.accounts_removed === undefined)).toBe(true)
      await setAllowlist('3,5')
    })

    test('format=ndjson and csv: the feed to now, deletions included, and X-Next-Cursor resumes right after', async () => {
      const { cursor } = await walk(app, { start_time: EVERYTHING.since })
      await db().deleteFrom('conversations').where('id', '=', 107).execute()
      await db().updateTable('conversations').set({ status: 2 }).where('id', '=', 109).execute()
      const ndjson = await changes(app, { cursor, format: 'ndjson' })
      expect(ndjson.status).toBe(200)
      const lines = ndjson.text.trim().split('\n').map((line) => JSON.parse(line))
      expect(lines).toEqual([{ id: 107, account_id: 3, deleted: true, updated_time: expect.any(String) }, expect.objectContaining({ id: 109, status: 'pending', deleted: false })])
      const csv = await changes(app, { cursor, format: 'csv' })
      const rows = csv.text.split('\r\n')
      expect(rows[0]).toEndWith(',updated_time,deleted')
      expect(rows[1]).toMatch(/^107,,3,,,,,,,,,,,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,true$/)
      expect(rows[2]).toStartWith('109,')
      expect(rows[2]).toEndWith(',false')
      await db().updateTable('conversations').set({ status: 3 }).where('id', '=', 109).execute()
      const resumed = await walk(app, { cursor: ndjson.headers.get('x-next-cursor')! })
      expect(idsOf(resumed.items)).toEqual([109])
    })

    test('an exact cursor older than the retention is 410, saying to walk again from start_time', async () => {
      const shortLived = contractApp(ctx.connection, { capture: new CaptureProbe(ctx.connection, { ttlMs: 0 }), config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', changesRetentionDays: 1 / 86_400 } })
      const { cursor } = await walk(shortLived, { start_time: EVERYTHING.since })
      await Bun.sleep(1500)
      const gone = await changes(shortLived, { cursor })
      expect(gone.status).toBe(410)
      expect(Object.keys(gone.body)).toEqual(['error'])
      expect(gone.body.error).toContain('start_time')
    })

    test('the capture removed: a new walk is plain, an exact cursor goes on plain; installed again: a new walk is exact, a plain cursor stays plain', async () => {
      const exact = await walk(app, { start_time: EVERYTHING.since })
      await removeCapture(ctx.connection)
      try {
        const plain = await walk(app, { start_time: EVERYTHING.since })
        expect(plain.pages.every((page) => page.body.meta.exact === false)).toBe(true)
        const continued = await walk(app, { cursor: exact.cursor })
        expect(continued.pages.every((page) => page.body.meta.exact === false)).toBe(true)
        await installCapture(ctx.connection, { retentionDays: 30 })
        expect((await changes(app, { start_time: EVERYTHING.since })).body.meta.exact).toBe(true)
        expect((await changes(app, { cursor: plain.cursor })).body.meta.exact).toBe(false)
      } finally {
        await installCapture(ctx.connection, { retentionDays: 30 })
      }
    })
  })
}

/** An update in a transaction of its own connection, held open until `commit()`. */
async function holdUpdate(config: { dialect: string; url?: string; filename?: string }, id: number, set: { status: number; updated_at: string }) {
  if (config.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: config.url })
    await client.connect()
    await client.query('begin')
    await client.query('update conversations set status = $1, updated_at = $2 where id = $3', [set.status, set.updated_at, id])
    let done = false
    return {
      commit: async () => {
        await client.query('commit')
        done = true
      },
      release: async () => {
        if (!done) await client.query('rollback').catch(() => {})
        await client.end()
      },
    }
  }
  const database = new SqliteDatabase(config.filename!)
  database.exec('PRAGMA busy_timeout = 5000')
  database.exec('begin immediate')
  database.query('update conversations set status = ?, updated_at = ? where id = ?').run(set.status, set.updated_at, id)
  let done = false
  return {
    commit: async () => {
      database.exec('commit')
      done = true
    },
    release: async () => {
      if (!done) database.exec('rollback')
      database.close()
    },
  }
}

