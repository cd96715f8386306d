// Keyset pagination with cursors (opt-in): `cursor=` starts a walk, meta.next_cursor continues it
// at the same cost at any depth, null on the last page. A cursor is signed and tied to its query.
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, ids, type TestApp } from '../helpers.ts'
import { ALL_VBET_ASC } from '../../fixtures/contract-data-set.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'
import { insertRows } from '../../fixtures/insert.ts'

localOnly('cursor walks: exact rows and tampering')

async function walk(app: TestApp, query: Record<string, string | number>, between?: (page: number) => Promise<void>) {
  const seen: number[] = []
  const pages: any[] = []
  let cursor = ''
  for (let page = 1; page <= 100; page++) {
    const response = await conversations(app, { ...query, cursor })
    expect(response.status).toBe(200)
    pages.push(response.body.meta)
    seen.push(...ids(response))
    if (response.body.meta.next_cursor === null) return { seen, pages }
    cursor = response.body.meta.next_cursor
    await between?.(page)
  }
  throw new Error('the walk did not end')
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] cursor walks`, () => {
    const ctx = useDatabase(dialect)
    const app = contractApp // a new app each time the spec calls it: cursors do not depend on memory

    test('cursor= starts a walk; next_cursor walks every row once, in order; null on the last page', async () => {
      const { seen, pages } = await walk(app(ctx.connection), { page_size: 4 })
      expect(seen).toEqual([...ALL_VBET_ASC])
      expect(pages.map((meta) => meta.current_page)).toEqual([1, 2, 3, 4])
      expect(pages.every((meta) => meta.items_count === ALL_VBET_ASC.length && meta.page_size === 4)).toBe(true)
      expect(pages.slice(0, -1).every((meta) => typeof meta.next_cursor === 'string')).toBe(true)
    })

    test('the last full page says null when nothing follows (15 rows, pages of 5)', async () => {
      const { pages } = await walk(app(ctx.connection), { page_size: 5 })
      expect(pages).toHaveLength(3)
      expect(pages[2].next_cursor).toBeNull()
    })

    test('descending, one account, pages of 1: the same rows as the page numbers give', async () => {
      expect((await walk(app(ctx.connection), { page_size: 3, sort_direction: 'desc' })).seen).toEqual([...ALL_VBET_ASC].reverse())
      expect((await walk(app(ctx.connection), { page_size: 1, account_id: 5 })).seen).toEqual([201, 202])
      expect((await walk(app(ctx.connection), { ...EVERYTHING, page_size: 1000 })).seen).toHaveLength(17)
    })

    test('without cursor, meta is exactly as documented (no next_cursor)', async () => {
      const response = await conversations(app(ctx.connection), { page_size: 2 })
      expect(Object.keys(response.body.meta)).toEqual(['items_count', 'current_page', 'page_size'])
    })

    test('while conversations are being created in the range, every row that was there is returned exactly once', async () => {
      const faker = seededFaker(3)
      let next = 950
      try {
        const { seen } = await walk(app(ctx.connection), { page_size: 3 }, async (page) => {
          // One behind the walk's position and one ahead of it, after every page.
          const behind = `2026-01-10 08:3${page}:00`
          const ahead = `2026-01-19 0${page}:00:00`
          await insertRows(ctx.connection, 'conversations', [
            buildConversation(faker, { id: next++, account_id: 3, display_id: next, created_at: behind }),
            buildConversation(faker, { id: next++, account_id: 5, display_id: next, created_at: ahead }),
          ])
        })
        expect(new Set(seen).size).toBe(seen.length)
        for (const id of ALL_VBET_ASC) expect(seen.filter((seenId) => seenId === id)).toHaveLength(1)
        expect(seen.filter((id) => id >= 950).length).toBeGreaterThan(0) // rows created ahead of the walk are met
      } finally {
        await ctx.connection.db.deleteFrom('conversations').where('id', '>=', 950).execute()
      }
    })

    test('a cursor page is cut without an offset, whatever its depth', async () => {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (text) => statements.push(text) })
      try {
        const watched = app(connection)
        let cursor = ''
        for (let page = 1; page <= 5; page++) {
          statements.length = 0
          const response = await conversations(watched, { page_size: 3, cursor })
          expect(statements.find((text) => /"sort_at"/.test(text))).not.toMatch(/offset/i)
          cursor = response.body.meta.next_cursor
        }
      } finally {
        await connection.destroy()
      }
    })

    test('an altered, forged or foreign cursor: 422', async () => {
      const first = await conversations(app(ctx.connection, { config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', cursorSecret: 'a'.repeat(32) } }), { page_size: 2, cursor: '' })
      const cursor: string = first.body.meta.next_cursor
      const [payload, signature] = cursor.split('.')
      const forged = Buffer.from(JSON.stringify([1, 4, 0, 253402300799, 'asc', 2, 2, '2000-01-01 00:00:00', 0])).toString('base64url')
      const cases = [
        `${payload}x.${signature}`, // payload altered
        `${payload}.${signature!.slice(0, -2)}AA`, // signature altered
        `${forged}.${signature}`, // another account, old signature
        'abc.def',
        'no-dot-at-all',
        '../../etc/passwd',
      ]
      const sameSecret = app(ctx.connection, { config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', cursorSecret: 'a'.repeat(32) } })
      for (const bad of cases) {
        const response = await conversations(sameSecret, { cursor: bad })
        expect(response.status).toBe(422)
        expect(Object.keys(response.body)).toEqual(['error'])
      }
      // Issued by another deployment (another secret): foreign.
      const foreign = await conversations(app(ctx.connection, { config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', cursorSecret: 'b'.repeat(32) } }), { cursor })
      expect(foreign.status).toBe(422)
      // The genuine one works, with or without repeating the walk's parameters.
      expect((await conversations(sameSecret, { cursor })).status).toBe(200)
      expect((await conversations(sameSecret, { cursor, page_size: 2 })).status).toBe(200)
    })

    test('a cursor sent with parameters of another query: 422 naming them', async () => {
      const a = app(ctx.connection)
      const { body } = await conversations(a, { page_size: 2, account_id: 3, cursor: '' })
      const other = await conversations(a, { cursor: body.meta.next_cursor, account_id: 5, sort_direction: 'desc' })
      expect(other.status).toBe(422)
      expect(other.body.error).toBe('cursor belongs to another query: account_id, sort_direction must stay as the walk began (or be left out)')
    })

    test('the allowlist is checked on every page: an account taken off it mid-walk is 401', async () => {
      const { serializedAccountIds, setVbetAccountIdsConfig } = await import('../../fixtures/insert.ts')
      const a = app(ctx.connection)
      const { body } = await conversations(a, { page_size: 1, account_id: 5, cursor: '' })
      await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds('3'))
      try {
        expect((await conversations(a, { cursor: body.meta.next_cursor })).status).toBe(401)
      } finally {
        await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds(' 3, 5 '))
      }
    })
  })
}
