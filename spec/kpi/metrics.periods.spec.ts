// Local calendar periods: days of 23 and 25 hours across daylight-saving changes, a day whose
// midnight does not exist, ISO weeks from Monday, months; IANA names and links, offsets refused.
import { describe, expect, test } from 'bun:test'
import { ValidationError } from '../../src/errors.ts'
import { countPeriods, periodsBetween, resolveTimeZone, type PeriodUnit } from '../../src/kpi/metrics.periods.ts'

const at = (iso: string) => Date.parse(iso)
const hours = (ms: number) => ms / 3_600_000

describe('time zones', () => {
  test.each([
    ['UTC', 'UTC'],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['Asia/Yerevan', 'Asia/Yerevan'],
    ['europe/berlin', 'Europe/Berlin'],
    ['US/Eastern', 'US/Eastern'],
    ['Etc/GMT-14', 'Etc/GMT-14'],
  ])('%s is a zone (%s)', (name, id) => expect(resolveTimeZone(name)).toBe(id))

  test.each(['+02:00', '-05:00', '+0200', '02:00', 'Z', 'UTC+2', 'GMT+2', 'Mars/Olympus', 'Europe/Berlin ', '', 'x'.repeat(65)])('"%s" is refused (422)', (name) => {
    expect(() => resolveTimeZone(name)).toThrow(ValidationError)
  })
})

describe('periods', () => {
  test('Berlin days around the spring change: 23 hours on 2026-03-29, starts at local midnight with the offset of then', () => {
    const days = periodsBetween('day', 'Europe/Berlin', at('2026-03-28T12:00:00Z'), at('2026-03-30T12:00:00Z'))
    expect(days.map((day) => day.label)).toEqual(['2026-03-28T00:00:00+01:00', '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00'])
    expect(days.map((day) => day.startMs)).toEqual([at('2026-03-27T23:00:00Z'), at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')])
    expect(hours(days[2]!.startMs - days[1]!.startMs)).toBe(23)
  })

  test('New York around the autumn change: 25 hours on 2026-11-01', () => {
    const days = periodsBetween('day', 'America/New_York', at('2026-11-01T12:00:00Z'), at('2026-11-02T12:00:00Z'))
    expect(days.map((day) => day.label)).toEqual(['2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00'])
    expect(hours(days[1]!.startMs - days[0]!.startMs)).toBe(25)
  })

  test('a day whose midnight does not exist starts when it does (São Paulo, 2018-11-04 at 01:00)', () => {
    const [day] = periodsBetween('day', 'America/Sao_Paulo', at('2018-11-04T12:00:00Z'), at('2018-11-04T12:00:00Z'))
    expect(day).toEqual({ startMs: at('2018-11-04T03:00:00Z'), label: '2018-11-04T01:00:00-02:00' })
  })

  test('UTC says +00:00, never Z; Yerevan +04:00', () => {
    expect(periodsBetween('day', 'UTC', at('2026-01-10T08:30:00Z'), at('2026-01-10T08:30:00Z'))[0]!.label).toBe('2026-01-10T00:00:00+00:00')
    expect(periodsBetween('day', 'Asia/Yerevan', at('2026-01-10T21:30:00Z'), at('2026-01-10T21:30:00Z'))[0]!.label).toBe('2026-01-11T00:00:00+04:00')
  })

  test('ISO weeks start on Monday; months on the 1st', () => {
    // 2026-01-01 is a Thursday: its week began on Monday 2025-12-29.
    const weeks = periodsBetween('week', 'UTC', at('2026-01-01T00:00:00Z'), at('2026-01-12T00:00:00Z'))
    expect(weeks.map((week) => week.label)).toEqual(['2025-12-29T00:00:00+00:00', '2026-01-05T00:00:00+00:00', '2026-01-12T00:00:00+00:00'])
    const months = periodsBetween('month', 'Europe/Berlin', at('2026-01-31T23:30:00Z'), at('2026-03-31T22:30:00Z'))
    expect(months.map((month) => month.label)).toEqual(['2026-02-01T00:00:00+01:00', '2026-03-01T00:00:00+01:00', '2026-04-01T00:00:00+02:00'])
  })

  test('the first and last periods hold since and until; none when since is after until', () => {
    const days = periodsBetween('day', 'UTC', at('2026-01-10T23:59:59Z'), at('2026-01-11T00:00:00Z'))
    expect(days.map((day) => day.label)).toEqual(['2026-01-10T00:00:00+00:00', '2026-01-11T00:00:00+00:00'])
    expect(periodsBetween('day', 'UTC', at('2026-01-11T00:00:00Z'), at('2026-01-10T00:00:00Z'))).toEqual([])
    expect(countPeriods('day', 'UTC', at('2026-01-11T00:00:00Z'), at('2026-01-10T00:00:00Z'))).toBe(0)
  })

  test.each<[PeriodUnit, string]>([
    ['day', 'Europe/Berlin'],
    ['week', 'America/New_York'],
    ['month', 'Australia/Lord_Howe'],
    ['day', 'Asia/Kathmandu'],
  ])('countPeriods is the number of periods periodsBetween lists (%s, %s), without listing them', (unit, zone) => {
    for (const [from, until] of [['2025-01-01T00:00:00Z', '2026-12-31T23:59:59Z'], ['2026-03-29T00:30:00Z', '2026-03-29T00:30:00Z'], ['1926-01-20T12:00:00Z', '2026-01-20T23:59:59Z']]) {
      const periods = periodsBetween(unit, zone, at(from!), at(until!))
      expect(countPeriods(unit, zone, at(from!), at(until!))).toBe(periods.length)
      // Each period starts after the one before, and the first at or before `from`.
      expect(periods[0]!.startMs).toBeLessThanOrEqual(at(from!))
      for (let index = 1; index < periods.length; index++) expect(periods[index]!.startMs).toBeGreaterThan(periods[index - 1]!.startMs)
    }
  })

  test('the range of the API: year 0001 to 9999 counts without listing', () => {
    expect(countPeriods('day', 'UTC', at('0001-01-01T00:00:00Z'), at('9999-12-31T23:59:59Z'))).toBe(3_652_059)
    expect(countPeriods('month', 'America/Los_Angeles', at('0001-01-01T00:00:00Z'), at('9999-12-31T23:59:59Z'))).toBe(119_989)
  })
})
