// How the pool runs statements on PostgreSQL (src/db/postgres-pool.ts): in session mode each
// statement text is prepared once per connection and then only bound and executed (the server
// plans the page's union of per-account scans once, not on every request); a prepared statement
// whose result no longer fits the table (a column's type changed under it) is prepared again, not
// failed; in transaction mode (a transaction pooler hands each transaction to any server
// connection) nothing is prepared.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase, type Connection } from '../../src/db/dialect.ts'
import type { PoolMode } from '../../src/db/postgres-pool.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'

describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] statements of the pool', () => {
  const ctx = useDatabase('postgres')
  const url = () => (ctx.database.config as { url: string }).url

  /** A pool of one connection in `mode`: every statement runs on the same server session. */
  const onePool = (mode: PoolMode) => openDatabase({ ...(ctx.database.config as any), poolSize: 1, poolMode: mode }, { readonly: true })
  const prepared = async (connection: Connection) =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(connection.db)).rows.map((row) => row.statement)

  test('session mode: each statement text is prepared once on the connection, then reused', async () => {
    const connection = onePool('session')
    try {
      const app = contractApp(connection)
      for (const query of [{ page_size: 2 }, { page_size: 2 }, { page_size: 3, page: 2 }] as Record<string, number>[]) expect((await conversations(app, query)).status).toBe(200)
      const statements = await prepared(connection)
      // The page's statements are there: the count, the ids, the rows, the labels; each text once.
      expect(statements.some((text) => /count\(\*\)/.test(text) && /from "conversations"/.test(text))).toBe(true)
      expect(statements.some((text) => /from "taggings"/.test(text))).toBe(true)
      expect(statements.some((text) => /left join "contacts"/.test(text))).toBe(true)
      expect(new Set(statements).size).toBe(statements.length)
    } finally {
      await connection.destroy()
    }
  })

  test('session mode: a prepared statement whose result type changed under it (a column altered) is prepared again, and answers', async () => {
    const connection = onePool('session')
    const admin = new pg.Client({ connectionString: url() })
    await admin.connect()
    try {
      const app = contractApp(connection)
      const before = await conversations(app, { page_size: 5 })
      expect(before.status).toBe(200)
      // users.name is selected as the assignee's name: varchar to text changes the statement's result type.
      await admin.query('alter table users alter column name type text')
      const after = await conversations(app, { page_size: 5 })
      expect(after.status).toBe(200)
      expect(after.body).toEqual(before.body)
    } finally {
      await admin.query('alter table users alter column name type varchar').catch(() => {})
      await admin.end()
      await connection.destroy()
    }
  })

  test('transaction mode: nothing is prepared (a transaction pooler may run the next statement on another server connection)', async () => {
    const connection = onePool('transaction')
    try {
      const app = contractApp(connection)
      for (const query of [{ page_size: 2 }, { page_size: 2 }]) expect((await conversations(app, query)).status).toBe(200)
      expect(await prepared(connection)).toEqual([])
    } finally {
      await connection.destroy()
    }
  })
})
