// The service's connection is read-only, in both dialects: whatever the code did, it could not
// change the database it reads.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { openDatabase, toDbTimestamp } from '../../src/db/dialect.ts'
import { DIALECTS, useDatabase } from '../setup.ts'

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the service's connection`, () => {
    const ctx = useDatabase(dialect)

    test('reads, and cannot write', async () => {
      const service = openDatabase(ctx.database.config, { readonly: true })
      try {
        const row = await service.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
        expect(Number(row.n)).toBe(4)
        await expect(service.db.insertInto('accounts').values({ name: 'should not exist' }).execute()).rejects.toThrow(/read.?only|readonly/i)
        await expect(sql`create table intruder (id int)`.execute(service.db)).rejects.toThrow(/read.?only|readonly/i)
      } finally {
        await service.destroy()
      }
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] what counts as the database being unavailable (503) and what is our defect (500)`, () => {
    const ctx = useDatabase(dialect)

    /** The error the database really raises for `statement`, on a connection like the service's. */
    async function errorOf(statement: string): Promise<unknown> {
      const service = openDatabase(ctx.database.config, { readonly: true })
      try {
        return await sql`${sql.raw(statement)}`.execute(service.db).then(() => undefined, (error: unknown) => error)
      } finally {
        await service.destroy()
      }
    }

    test('a statement the database rejects (syntax, a missing table, too many bind parameters) is not unavailability', async () => {
      const { isUnavailable } = ctx.connection.dialect
      for (const statement of ['selec 1', 'select * from no_such_table']) {
        const error = await errorOf(statement)
        expect(error).toBeDefined()
        expect(isUnavailable(error)).toBe(false)
      }
      const tooMany = await ctx.connection.db
        .selectFrom('accounts')
        .select('id')
        .where('id', 'in', Array.from({ length: 70_000 }, (_, i) => i))
        .execute()
        .then(() => undefined, (error: unknown) => error)
      // SQLite may take them all; PostgreSQL's protocol cannot (its count is 16 bits).
      if (tooMany !== undefined) expect(isUnavailable(tooMany)).toBe(false)
      if (dialect === 'postgres') expect(tooMany).toBeDefined()
    })

    test.skipIf(dialect !== 'postgres')('a refusal for good (no such database, no such role) is a configuration problem, not unavailability', async () => {
      for (const change of [(url: URL) => (url.pathname = '/no_such_database_here'), (url: URL) => (url.username = 'no_such_role_here')]) {
        const url = new URL((ctx.database.config as { url: string }).url)
        change(url)
        const service = openDatabase({ dialect: 'postgres', url: url.toString(), poolSize: 1, connectTimeoutMs: 2000, statementTimeoutMs: 2000 }, { readonly: true })
        try {
          const error = await sql`select 1`.execute(service.db).then(() => undefined, (caught: unknown) => caught)
          expect(error).toBeDefined()
          expect(service.dialect.isMisconfigured(error)).toBe(true)
        } finally {
          await service.destroy()
        }
      }
      // An outage is not a configuration problem.
      const down = openDatabase({ dialect: 'postgres', url: 'postgres://kpi@127.0.0.1:1/kpi', poolSize: 1, connectTimeoutMs: 1000, statementTimeoutMs: 1000 }, { readonly: true })
      try {
        const error = await sql`select 1`.execute(down.db).then(() => undefined, (caught: unknown) => caught)
        expect([down.dialect.isMisconfigured(error), down.dialect.isUnavailable(error)]).toEqual([false, true])
      } finally {
        await down.destroy()
      }
    })
  })
}

describe('toDbTimestamp', () => {
  test('UTC text that sorts as time', () => {
    expect(toDbTimestamp(new Date('2026-01-10T08:30:00.250Z'))).toBe('2026-01-10 08:30:00.250')
    expect(toDbTimestamp(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01 00:00:00.000')
  })
  test('the instant after 9999-12-31T23:59:59Z is held at the last millisecond, not written as +010000', () => {
    expect(toDbTimestamp(new Date('+010000-01-01T00:00:00Z'))).toBe('9999-12-31 23:59:59.999')
  })
})
