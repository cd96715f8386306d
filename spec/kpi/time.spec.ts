// Unit specs of time parsing and formatting.
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { parseDateTime, parseDatabaseTimestamp, toIsoSeconds, wholeSeconds } from '../../src/kpi/time.ts'

describe('parseDateTime', () => {
  test.each([
    ['2026-01-10 08:30:00', '2026-01-10T08:30:00.000Z'],
    ['2026-01-10 08:30:00.123456', '2026-01-10T08:30:00.123Z'],
    ['2026-01-10T08:30:00Z', '2026-01-10T08:30:00.000Z'],
    ['2026-01-10T10:30:00+02:00', '2026-01-10T08:30:00.000Z'],
    ['2026-01-10T03:00:00-05:30', '2026-01-10T08:30:00.000Z'],
    ['2026-01-10', '2026-01-10T00:00:00.000Z'],
    ['1925-06-01 00:00:00', '1925-06-01T00:00:00.000Z'],
    ['0001-01-01 00:00:00', '0001-01-01T00:00:00.000Z'],
  ])('%p -> %p, whatever the process time zone', (text, iso) => expect(parseDateTime(text)?.toISOString()).toBe(iso))

  test.each(['', 'yesterday', '2026-1-10', '2026-01-32', '2026-02-29', '2026-01-10T24:00:00', '2026-01-10T08:60:00'])('%p is not a date-time', (text) =>
    expect(parseDateTime(text)).toBeNull(),
  )
})

describe('parseDatabaseTimestamp: the form the databases hand over, read without the general pattern', () => {
  // Digits in every position, valid or not, and the separators right or wrong: whatever it is
  // given, it answers exactly as parseDateTime does.
  const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`))
  const separator = (right: string) => fc.constantFrom(right, right, right, right, 'T', '/', 'x')
  const text = fc
    .tuple(digits(4), separator('-'), digits(2), separator('-'), digits(2), separator(' '), digits(2), separator(':'), digits(2), separator(':'), digits(2),
      fc.constantFrom('', '', '.', '.5', '.123', '.123456', '.1234567', 'Z', ' UTC', '+02:00', '.12a'))
    .map((parts) => parts.join(''))
  const plausible = fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .chain((date) => fc.constantFrom('', '.5', '.25', '.123456').map((fraction) => date.toISOString().slice(0, 19).replace('T', ' ') + fraction))

  test('the same instant as parseDateTime, or null where it is null, for 20,000 texts', () => {
    fc.assert(
      fc.property(fc.oneof(text, plausible), (value) => {
        expect(parseDatabaseTimestamp(value)?.getTime()).toBe(parseDateTime(value)?.getTime())
      }),
      { numRuns: 20_000 },
    )
  })
  test.each(['2026-01-10 08:30:00', '2026-01-10 08:30:00.123456', '0099-03-01 00:00:00', '2024-02-29 23:59:59.999999', '2026-02-29 00:00:00', '2026-13-01 00:00:00', '2026-01-10 24:00:00'])(
    '%p as parseDateTime reads it',
    (value) => expect(parseDatabaseTimestamp(value)?.getTime()).toBe(parseDateTime(value)?.getTime()),
  )
})

describe('toIsoSeconds and wholeSeconds', () => {
  test('cut to the second, never rounded up', () => {
    expect(toIsoSeconds(new Date('2026-01-10T08:30:00.999Z'))).toBe('2026-01-10T08:30:00Z')
    expect(wholeSeconds(new Date('2026-01-10T08:30:00.999Z'))).toBe(Date.parse('2026-01-10T08:30:00Z') / 1000)
  })
  test('before 1970 too', () => {
    expect(toIsoSeconds(new Date('1925-06-01T00:00:00.500Z'))).toBe('1925-06-01T00:00:00Z')
  })
})
