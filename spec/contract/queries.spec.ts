// Contract: labels, assignee and contact come with the page in a constant number of queries,
// whatever the page size (no query per row).
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING } from '../helpers.ts'

localOnly('queries per request')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] queries per request`, () => {
    const ctx = useDatabase(dialect)

    test('the same number of statements for a page of 1 and a page of 1000', async () => {
      const statements: string[] = []
      // A second, read-only connection to the same database (as the service opens it) that counts what it runs.
      const counted = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        const app = contractApp(counted)
        const small = await conversations(app, { ...EVERYTHING, page_size: 1 })
        const smallCount = statements.length
        statements.length = 0
        const large = await conversations(app, { ...EVERYTHING, page_size: 1000 })
        expect(small.body.payload.length).toBe(1)
        expect(large.body.payload.length).toBe(17)
        expect(statements.length).toBe(smallCount)
        expect(smallCount).toBeLessThanOrEqual(5) // token, allowlist, count, page, labels
      } finally {
        await counted.destroy()
      }
    })
  })
}
