// The same data in SQLite and in PostgreSQL gives byte-identical responses to the same requests:
// what the specs prove on one database holds on the other.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'
import { contractApp, conversations, request, type TestApp } from '../helpers.ts'
import { contractDataSet, TOKENS } from '../../fixtures/contract-data-set.ts'
import { insertDataSet } from '../../fixtures/insert.ts'

const remote = localOnly('SQLite and PostgreSQL agree byte for byte')

const REQUESTS: Array<[string, Record<string, string | number> | string, string | null]> = [
  ['defaults', {}, TOKENS.kpiTracker],
  ['everything, one page', { since: -62135596800, until: 253402300799, page_size: 1000 }, TOKENS.kpiTracker],
  ['descending pages of 4', { sort_direction: 'desc', page_size: 4, page: 2 }, TOKENS.kpiTracker],
  ['one account', { account_id: 5 }, TOKENS.kpiTracker],
  ['a range', { since: 1768222800, until: 1768500000 }, TOKENS.kpiTracker],
  ['past the end', { page: 99 }, TOKENS.kpiTracker],
  ['clamped', { page_size: 0, page: -1 }, TOKENS.kpiTracker],
  ['foreign account', { account_id: 4 }, TOKENS.kpiTracker],
  ['bad since', 'since=yesterday', TOKENS.kpiTracker],
  ['no token', {}, null],
  ['another user', {}, TOKENS.otherUser],
]

describe.skipIf(remote || !(DIALECTS.includes('sqlite') && DIALECTS.includes('postgres')))('SQLite and PostgreSQL agree', () => {
  const databases: TestDatabase[] = []
  const apps: TestApp[] = []

  beforeAll(async () => {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const database = await createTestDatabase(dialect)
      await insertDataSet(database.connection, contractDataSet())
      databases.push(database)
      apps.push(contractApp(database.connection))
    }
  })
  afterAll(async () => {
    for (const database of databases) await database.destroy()
  })

  test.each(REQUESTS)('%s: same status, same bytes', async (_name, query, token) => {
    const [sqlite, postgres] = await Promise.all(apps.map((app) => conversations(app, query, { token })))
    expect(postgres!.status).toBe(sqlite!.status)
    expect(postgres!.text).toBe(sqlite!.text)
  })

  test('an unknown path: same bytes', async () => {
    const [sqlite, postgres] = await Promise.all(apps.map((app) => request(app, '/nope')))
    expect(postgres!.text).toBe(sqlite!.text)
  })
})
