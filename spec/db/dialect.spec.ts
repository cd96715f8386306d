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

describe('toDbTimestamp', () => {
  test('UTC text that sorts as time', () => {
    expect(toDbTimestamp(new Date('2026-01-10T08:30:00.250Z'))).toBe('2026-01-10 08:30:00.250')
    expect(toDbTimestamp(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01 00:00:00.000')
  })
  test('the instant after 9999-12-31T23:59:59Z is held at the last millisecond, not written as +010000', () => {
    expect(toDbTimestamp(new Date('+010000-01-01T00:00:00Z'))).toBe('9999-12-31 23:59:59.999')
  })
})
