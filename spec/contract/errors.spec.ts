// Contract: errors are {"error": "<message>"} JSON with the documented status on every path:
// unknown routes, other methods, our own defects and an unreachable database included.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { createTestDatabase, DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { appWithoutDatabase, contractApp, conversations, request } from '../helpers.ts'
import { insertDataSet } from '../../fixtures/insert.ts'
import { contractDataSet } from '../../fixtures/contract-data-set.ts'

const remote = localOnly('error responses: 404, 405, 500, 503')

function expectError(response: { status: number; body: any; headers: Headers }, status: number) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toStartWith('application/json')
  expect(Object.keys(response.body)).toEqual(['error'])
  expect(response.body.error.length).toBeGreaterThan(0)
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] error responses`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)

    test.each(['/', '/api/v1/kpi', '/api/v1/kpi/conversations/101', '/api/v2/kpi/conversations', '/swagger/assets/package.json'])(
      'unknown path %p: 404 {"error":"Resource could not be found"}',
      async (path) => {
        const response = await request(app(), path)
        expectError(response, 404)
        expect(response.body.error).toBe('Resource could not be found')
      },
    )

    test.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%p on the endpoint: 405 with Allow', async (method) => {
      const response = await request(app(), '/api/v1/kpi/conversations', { method })
      expectError(response, 405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
    })

    test('a defect of ours (here: a table missing) is a 500 without internals, and is logged', async () => {
      const broken = await createTestDatabase(dialect)
      try {
        await insertDataSet(broken.connection, contractDataSet())
        await sql`drop table taggings`.execute(broken.connection.db)
        const logged: string[] = []
        const response = await conversations(contractApp(broken.connection, { logError: (message, error) => logged.push(`${message} ${error}`) }))
        expectError(response, 500)
        expect(response.body).toEqual({ error: 'Internal server error' })
        expect(logged.join('\n')).toContain('taggings')
      } finally {
        await broken.destroy()
      }
    })
  })
}

describe.skipIf(remote)('database unreachable', () => {
  test('a PostgreSQL server that does not answer: 503 {"error"} with Retry-After, promptly', async () => {
    const { app, connection } = appWithoutDatabase()
    try {
      const started = performance.now()
      const response = await conversations(app)
      expectError(response, 503)
      expect(response.headers.get('retry-after')).toBe('1')
      expect(performance.now() - started).toBeLessThan(5000)
    } finally {
      await connection.destroy()
    }
  })
})
