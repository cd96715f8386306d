// Contract: labels, assignee and contact come with the page in one statement, whatever the page
// size (no query per row, no second round trip for the rows or their labels); the token's owner is
// read with the allowlist; a client paging through one range reuses its count and its token lookup
// for a few seconds, and the allowlist is still read on every request, once (the metrics and the
// changes feed take it from the token's statement too).
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('queries per request')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] queries per request`, () => {
    const ctx = useDatabase(dialect)

    /** A second, read-only connection to the same database (as the service opens it) that records what it runs. */
    async function recorded(work: (app: ReturnType<typeof contractApp>, statements: string[]) => Promise<void>) {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        await work(contractApp(connection), statements)
      } finally {
        await connection.destroy()
      }
    }

    test('three statements for a page of 1 and for a page of 1000: the token with the allowlist, the count, and the page (its ids, rows and labels at once)', async () => {
      for (const pageSize of [1, 1000]) {
        await recorded(async (app, statements) => {
          const response = await conversations(app, { ...EVERYTHING, page_size: pageSize })
          expect(response.body.payload.length).toBe(Math.min(pageSize, 17))
          expect(statements).toHaveLength(3)
          // The token's owner and the allowlist as it is now, in one statement.
          expect(statements.filter((text) => /"access_tokens"/.test(text) && /"installation_configs"/.test(text))).toHaveLength(1)
          expect(statements.filter((text) => /"installation_configs"/.test(text))).toHaveLength(1)
          expect(statements.filter((text) => /count\(\*\)/i.test(text))).toHaveLength(1)
          // One statement reads the page's ids, its rows (with assignee and contact) and their labels.
          const page = statements.filter((text) => /"taggings"/.test(text))
          expect(page).toHaveLength(1)
          expect(page[0]).toMatch(/"users"/)
          expect(page[0]).toMatch(/"contacts"/)
          expect(page[0]).toMatch(/limit/i)
        })
      }
    })

    test('the next page of the same range reuses the count and the token; the allowlist is read every time', async () => {
      await recorded(async (app, statements) => {
        const first = await conversations(app, { ...EVERYTHING, page_size: 5, page: 1 })
        statements.length = 0
        const second = await conversations(app, { ...EVERYTHING, page_size: 5, page: 2 })
        expect(second.body.meta.items_count).toBe(first.body.meta.items_count)
        expect(statements).toHaveLength(2) // allowlist, the page
        expect(statements.some((text) => /count\(\*\)/i.test(text))).toBe(false)
        expect(statements.some((text) => /"access_tokens"/.test(text))).toBe(false)
        expect(statements.some((text) => /"installation_configs"/.test(text))).toBe(true)

        statements.length = 0
        await conversations(app, { ...EVERYTHING, page_size: 5, account_id: 5 })
        expect(statements.filter((text) => /count\(\*\)/i.test(text))).toHaveLength(1) // another scope, another count
      })
    })

    test('the metrics, the changes feed and their downloads read the allowlist once a request: with the token when the token is read', async () => {
      const targets = [
        '/api/v1/kpi/conversations/metrics?since=0',
        '/api/v1/kpi/conversations/changes?start_time=0',
        '/api/v1/kpi/conversations/changes?start_time=0&format=ndjson',
      ]
      for (const target of targets) {
        await recorded(async (app, statements) => {
          const response = await app.handle(new Request(`http://localhost${target}`, { headers: { api_access_token: TOKENS.kpiTracker } }))
          expect({ target, status: response.status }).toEqual({ target, status: 200 })
          await response.text()
          // A fresh app: the token's owner is not cached, so it is read, and the allowlist with it.
          expect({ target, tokens: statements.filter((text) => /"access_tokens"/.test(text)).length }).toEqual({ target, tokens: 1 })
          expect({ target, allowlists: statements.filter((text) => /"installation_configs"/.test(text)).length }).toEqual({ target, allowlists: 1 })
        })
      }
    })
  })
}
