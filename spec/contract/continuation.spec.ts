// Paging through a range: the next page of the same query starts right after the page before it
// (the service remembers where each page ended for a minute), so an export reads each row once and
// neither repeats nor skips a row when conversations are created meanwhile.
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, ids } from '../helpers.ts'
import { ALL_VBET_ASC } from '../../fixtures/contract-data-set.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'
import { insertRows } from '../../fixtures/insert.ts'

localOnly('page continuation: keyset after a served page')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the next page continues where the last one ended`, () => {
    const ctx = useDatabase(dialect)

    test('page 2 after page 1 is cut without an offset, and is the same page a cold service gives', async () => {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (text) => statements.push(text) })
      try {
        const warm = contractApp(connection)
        await conversations(warm, { page_size: 4, page: 1 })
        statements.length = 0
        const second = await conversations(warm, { page_size: 4, page: 2 })
        const pageIdsStatement = statements.find((text) => /"sort_at"/.test(text))!
        expect(pageIdsStatement).not.toMatch(/offset/i)
        expect(ids(second)).toEqual(ids(await conversations(contractApp(ctx.connection), { page_size: 4, page: 2 })))
        expect(ids(second)).toEqual(ALL_VBET_ASC.slice(4, 8))

        statements.length = 0
        await conversations(warm, { page_size: 4, page: 4 }) // page 3 was never served: an offset, as always
        expect(statements.find((text) => /"sort_at"/.test(text))).toMatch(/offset/i)
      } finally {
        await connection.destroy()
      }
    })

    test('a conversation created early in the range between two pages: nothing repeated, nothing skipped', async () => {
      const app = contractApp(ctx.connection)
      const first = await conversations(app, { page_size: 5, page: 1 })
      // Lands before page 1's end (created just after 101): an offset would now repeat page 1's last row.
      await insertRows(ctx.connection, 'conversations', [
        buildConversation(seededFaker(1), { id: 900, account_id: 3, display_id: 900, created_at: '2026-01-10 08:30:01', status: 0 }),
      ])
      try {
        const second = await conversations(app, { page_size: 5, page: 2 })
        const seen = [...ids(first), ...ids(second)]
        expect(new Set(seen).size).toBe(10)
        expect(seen).toEqual(ALL_VBET_ASC.slice(0, 10))
        // A client without the first page (a cold service) gets the offset page, shifted by the new row.
        expect(ids(await conversations(contractApp(ctx.connection), { page_size: 5, page: 2 }))[0]).toBe(ALL_VBET_ASC[4])
      } finally {
        await ctx.connection.db.deleteFrom('conversations').where('id', '=', 900).execute()
      }
    })

    test('without since/until, with the clock moving between pages within a day: nothing repeated, nothing skipped, the count reused', async () => {
      // The default range is whole days: a walk that sends no since/until keeps one scope all day.
      let now = Date.parse('2026-01-20T12:00:00Z')
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (text) => statements.push(text) })
      try {
        const app = contractApp(connection, { now: () => new Date(now) })
        const first = await conversations(app, { page_size: 5, page: 1 })
        now += 7_000 // seven seconds later
        await insertRows(ctx.connection, 'conversations', [
          buildConversation(seededFaker(2), { id: 901, account_id: 3, display_id: 901, created_at: '2026-01-10 08:30:01', status: 0 }),
        ])
        statements.length = 0
        const second = await conversations(app, { page_size: 5, page: 2 })
        expect([...ids(first), ...ids(second)]).toEqual(ALL_VBET_ASC.slice(0, 10))
        expect(statements.some((text) => /count\(\*\)/i.test(text))).toBe(false) // the same scope: its count is reused
      } finally {
        await connection.destroy()
        await ctx.connection.db.deleteFrom('conversations').where('id', '=', 901).execute()
      }
    })

    test('descending, and per account, continue the same way', async () => {
      const app = contractApp(ctx.connection)
      const desc = [...ALL_VBET_ASC].reverse()
      const pages = []
      for (let page = 1; page <= 4; page++) pages.push(...ids(await conversations(app, { page_size: 4, page, sort_direction: 'desc' })))
      expect(pages).toEqual(desc)
      const account = []
      for (let page = 1; page <= 5; page++) account.push(...ids(await conversations(app, { page_size: 3, page, account_id: 3 })))
      expect(account).toEqual([113, 101, 102, 103, 104, 105, 106, 107, 108, 109, 114, 115, 110])
    })
  })
}
