// Guards of the suite's own conditions: if these broke, the UTC specs elsewhere could pass by luck.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { DIALECTS, SERVER_TIME_ZONE, useDatabase } from './setup.ts'

test('the specs run in a process time zone that is not UTC', () => {
  expect(new Date(2026, 0, 10).getTimezoneOffset()).not.toBe(0)
})

if (DIALECTS.includes('postgres')) {
  describe('[postgres] session time zone', () => {
    const ctx = useDatabase('postgres')
    test(`the test databases' sessions run in ${SERVER_TIME_ZONE}, not UTC`, async () => {
      const { rows } = await sql<{ TimeZone: string }>`show timezone`.execute(ctx.connection.db)
      expect(rows[0]!.TimeZone).toBe(SERVER_TIME_ZONE)
    })
  })
}
