// A helpdesk database without conversations.first_reply_created_at (older platforms have none):
// the metrics still answer, with first_response null (not a count of 0: unknown is not none), the
// rest unchanged; GET /ready stays ready and says why.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'
import { contractApp, request } from '../helpers.ts'
import { insertDataSet } from '../../fixtures/insert.ts'
import { contractDataSet } from '../../fixtures/contract-data-set.ts'

localOnly('a database without first_reply_created_at: needs the fixture data set')

const PATH = '/api/v1/kpi/conversations/metrics?since=1768003200&until=1768953599&group_by=day,account'

for (const dialect of DIALECTS) {
  describe(`[${dialect}] without conversations.first_reply_created_at`, () => {
    let withColumn: TestDatabase
    let without: TestDatabase
    beforeAll(async () => {
      ;[withColumn, without] = await Promise.all([createTestDatabase(dialect), createTestDatabase(dialect)])
      await insertDataSet(withColumn.connection, contractDataSet())
      const rows = contractDataSet()
      await sql`alter table conversations drop column first_reply_created_at`.execute(without.connection.db)
      await insertDataSet(without.connection, { ...rows, conversations: rows.conversations!.map(({ first_reply_created_at: _, ...row }) => row) })
    }, 60_000)
    afterAll(async () => {
      await Promise.all([withColumn?.destroy(), without?.destroy()])
    })

    test('first_response is null in every row; every other figure is as with the column', async () => {
      const [full, missing] = await Promise.all([request(contractApp(withColumn.connection), PATH), request(contractApp(without.connection), PATH)])
      expect([full.status, missing.status]).toEqual([200, 200])
      expect(missing.body.payload.length).toBeGreaterThan(0)
      for (const row of missing.body.payload) expect(row.first_response).toBeNull()
      expect(full.body.payload.some((row: { first_response: { count: number } }) => row.first_response.count > 0)).toBe(true)
      const strip = (payload: Array<Record<string, unknown>>) => payload.map(({ first_response: _, ...row }) => row)
      expect(strip(missing.body.payload)).toEqual(strip(full.body.payload))
    })

    test('/ready is 200 and its detail says why first_response is null; with the column, no detail', async () => {
      const missing = await request(contractApp(without.connection), '/ready', { token: null })
      expect(missing.status).toBe(200)
      expect(missing.body.detail).toEqual([expect.stringContaining('first_reply_created_at does not exist')])
      const full = await request(contractApp(withColumn.connection), '/ready', { token: null })
      expect(full.body).toEqual({ status: 'ready', shared_state: 'memory' })
    })
  })
}
