// PostgreSQL reads resolved_time / reopen_time exactly as the rule in TypeScript does
// (src/db/postgres-attribute-time.ts against parseAttributeTime): on hand-picked edges and on
// thousands of generated values (fast-check), each stored as jsonb and read back as the rows
// endpoint reads it. Whole seconds for a time, null for absent, NaN for unreadable; by both of its
// paths (the shapes read by position, the regular expression for the rest).
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { sql, type RawBuilder } from 'kysely'
import { attributeReading } from '../../src/db/postgres-attribute-time.ts'
import { parseAttributeTime } from '../../src/kpi/conversations.rules.ts'
import { wholeSeconds } from '../../src/kpi/time.ts'
import { DIALECTS, useDatabase } from '../setup.ts'

/** The rule's answer for a value as JSON.parse gives it: seconds, null (absent) or NaN (unreadable). */
function ruleSeconds(value: unknown): number | null {
  const time = parseAttributeTime(value)
  return time.kind === 'time' ? wholeSeconds(time.date) : time.kind === 'absent' ? null : Number.NaN
}

const EDGES = [
  '"2026-01-10T09:15:00Z"', '"2026-01-10T11:15:00+02:00"', '"2026-01-10 09:15:00"', '"2026-01-10T09:15:00.999Z"', '"2026-01-10t09:15:00z"',
  '"2026-01-10 09:15:00 UTC"', '"2026-01-10 09:15:00 utc"', '"2026-01-10T09:15:00 gmt"', '"2026-01-10T09:15:00-0330"', '"2026-01-10T09:15+0330"',
  '"2026-01-10T09:15:00+02"', '"2026-01-10T09:15:00+99:99"', '"2026-01-10"', '"2026-01-10Z"', '"2026-01-10 -05:00"', '"2026-01-10T09"',
  '"2026-02-29T00:00:00Z"', '"2024-02-29T00:00:00Z"', '"2000-02-29T00:00:00Z"', '"1900-02-29T00:00:00Z"', '"2026-02-30T00:00:00Z"',
  '"2026-04-31T00:00:00Z"', '"2026-13-01T00:00:00Z"', '"2026-00-10T00:00:00Z"', '"2026-01-00T00:00:00Z"', '"2026-01-10T24:00:00Z"',
  '"2026-01-10T23:60:00Z"', '"2026-01-10T23:59:60Z"', '"0000-12-31T23:00:00-02:00"', '"0000-12-31T23:59:59Z"', '"0001-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59Z"', '"9999-12-31T23:59:59-00:01"', '"1969-12-31T23:59:59.5Z"', '"2026-01-10T09:15:00,5Z"', '"2026-01-10T09:15:00.Z"',
  '"  2026-01-10T09:15:00Z  "', '"\\u00a02026-01-10T09:15:00Z\\u3000"', '"\\ufeff1768036500"', '"2026-01-10T09:15:00\\u2028Z"', '"2026-01-10T09:15:00\\u200bZ"',
  '1768036500', '1768036500.75', '1768036500000', '1.7680365e9', '17680365E5', '1.7680365e12', '-1', '0', '-0', '-0.0004', '-0.5', '0.0009',
  '1e400', '99999999999999999999', '99999999999', '100000000000', '-99999999999.9', '-100000000000', '253402300799', '253402300800',
  '253402300799999', '253402300800000', '-62135596800', '-62135596801', '-62135596800000', '-62135596800001', '8.64e15', '8.640000000000001e15',
  '"1768036500"', '" 1768036500 "', '"1768036500000"', '"1.5e9"', '"+1768036500"', '"-86400"', '"00000000000000000001768036500"', '"1768036500."',
  '"1768036500.9999999999999999999"', '"99999999999.9999999"', '"-0"', '"٢٠٢٦-01-10"', '"1768036500\\n"',
  'true', 'false', 'null', '""', '" "', '"not a date"', '{}', '{"at": "2026-01-10T09:15:00Z"}', '[]', '["2026-01-10T09:15:00Z"]',
]

/** Texts that look like times: the forms the rule reads, pieces out of range, and noise. */
const timeLike = fc
  .tuple(
    fc.constantFrom('', ' ', '\u00a0', '\t', 'x'),
    fc.integer({ min: 0, max: 10_500 }).map((year) => String(year).padStart(4, '0')),
    fc.integer({ min: 0, max: 14 }).map((n) => String(n).padStart(2, '0')),
    fc.integer({ min: 0, max: 33 }).map((n) => String(n).padStart(2, '0')),
    fc.option(fc.tuple(fc.constantFrom('T', ' ', 't', '_'), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.option(fc.integer({ min: 0, max: 61 })), fc.option(fc.stringMatching(/^[.,][0-9]{0,7}$/)))),
    fc.constantFrom('', ' ', '  '),
    fc.option(fc.oneof(fc.constantFrom('Z', 'z', 'UTC', 'GMT', 'utc', 'EST', '+', '-'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 99 }), fc.constantFrom('', ':', '::'), fc.option(fc.integer({ min: 0, max: 99 }))).map(([sign, h, colon, m]) => `${sign}${String(h).padStart(2, '0')}${m === null ? '' : `${colon}${String(m).padStart(2, '0')}`}`))),
    fc.constantFrom('', ' ', '\n'),
  )
  .map(([lead, y, mo, d, time, gap, zone, trail]) => {
    const clock = time ? `${time[0]}${String(time[1]).padStart(2, '0')}:${String(time[2]).padStart(2, '0')}${time[3] === null ? '' : `:${String(time[3]).padStart(2, '0')}${time[4] ?? ''}`}` : ''
    return `${lead}${y}-${mo}-${d}${clock}${gap}${zone ?? ''}${trail}`
  })

/** Numbers as JSON numbers and as strings: seconds, milliseconds, fractions, the range's edges. */
const numberLike = fc.oneof(
  fc.double({ min: -3e14, max: 3e14, noNaN: true }),
  fc.integer({ min: -62_135_596_900, max: 253_402_300_900 }),
  fc.constantFrom(1e11, -1e11, 99_999_999_999.999, 253_402_300_799_999, -62_135_596_800_000),
)
const jsonValue = fc.oneof(
  timeLike.map((text) => JSON.stringify(text)),
  numberLike.map((n) => JSON.stringify(n)),
  numberLike.map((n) => JSON.stringify(` ${n} `)),
  fc.string({ maxLength: 30 }).map((text) => JSON.stringify(text)),
  fc.constantFrom(...EDGES),
)

describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] time attributes read in SQL as the rule reads them', () => {
  const ctx = useDatabase('postgres', () => ({}))

  /** Stores each JSON text as one row's attributes and reads both back: what SQL says, and the stored JSON. */
  async function inSql(values: readonly string[]): Promise<Array<{ stored: unknown; seconds: number | null; plain: boolean }>> {
    const documents = values.map((value) => `{"resolved_time": ${value}}`)
    const reading = attributeReading('a', 'resolved_time')
    const columns = (expressions: Readonly<Record<string, RawBuilder<unknown>>>) => sql.join(Object.entries(expressions).map(([name, expression]) => sql`${expression} as ${sql.id(name)}`))
    // Each stage a subquery of the one before, as the metrics run them; the last one's form says which path read the value.
    const staged = reading.stages.reduce<RawBuilder<unknown>>(
      (from, stage, index) => sql`(select a, n, ${columns(stage((name) => sql.ref(name)))} from ${from} offset 0) as ${sql.id(`s${index}`)}`,
      sql`unnest(${documents}::jsonb[]) with ordinality as t(a, n)`,
    )
    const { rows } = await sql<{ stored: string; seconds: number | string | null; plain: boolean }>`
      select a::text as stored, form > 0 as plain, ${reading.seconds((name) => sql.ref(name))} as seconds
      from ${staged} order by n`.execute(ctx.connection.db)
    return rows.map((row) => ({ stored: (JSON.parse(row.stored) as { resolved_time?: unknown }).resolved_time, seconds: row.seconds === null ? null : Number(row.seconds), plain: row.plain }))
  }

  function expectAgreement(values: readonly string[], results: Array<{ stored: unknown; seconds: number | null }>) {
    results.forEach(({ stored, seconds }, index) => {
      const expected = ruleSeconds(stored)
      // -0 and 0 are one second (SQL's floor of a negative fraction of a millisecond gives -0).
      if (!(seconds === expected || Object.is(seconds, expected))) expect({ value: values[index], seconds }).toEqual({ value: values[index]!, seconds: expected })
    })
  }

  test('on the edges: every form, the calendar, the range, whitespace, what is not a time', async () => {
    const results = await inSql(EDGES)
    expectAgreement(EDGES, results)
    // The edges reach all three outcomes.
    expect(results.some((r) => r.seconds === null) && results.some((r) => Number.isNaN(r.seconds)) && results.some((r) => Number.isFinite(r.seconds))).toBe(true)
  })

  test('on 20,000 generated values', async () => {
    const values = fc.sample(jsonValue, { numRuns: 20_000, seed: 23 })
    const results = await inSql(values)
    expectAgreement(values, results)
    const times = results.filter((r) => Number.isFinite(r.seconds)).length
    expect(times).toBeGreaterThan(2000)
    expect(results.length - times).toBeGreaterThan(2000)
    // Both paths: the shapes read by position (no match computed), and the regular expression.
    const plain = results.filter((r) => r.plain).length
    expect([plain > 2000, results.length - plain > 2000]).toEqual([true, true])
  }, 60_000)
})
