// Unit specs of time parsing and formatting.
import { describe, expect, test } from 'bun:test'
import { parseDateTime, toIsoSeconds, wholeSeconds } from '../../src/kpi/time.ts'

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

describe('toIsoSeconds and wholeSeconds', () => {
  test('cut to the second, never rounded up', () => {
    expect(toIsoSeconds(new Date('2026-01-10T08:30:00.999Z'))).toBe('2026-01-10T08:30:00Z')
    expect(wholeSeconds(new Date('2026-01-10T08:30:00.999Z'))).toBe(Date.parse('2026-01-10T08:30:00Z') / 1000)
  })
  test('before 1970 too', () => {
    expect(toIsoSeconds(new Date('1925-06-01T00:00:00.500Z'))).toBe('1925-06-01T00:00:00Z')
  })
})
