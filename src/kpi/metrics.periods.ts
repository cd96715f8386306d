// Calendar periods of the metrics (day, ISO week from Monday, month) in an IANA time zone, as
// instants: a local day across a daylight-saving change is 23 or 25 hours, and a day whose
// midnight does not exist (São Paulo, 2018-11-04) starts when the clock says 01:00. Computed with
// Temporal (built into Bun; types from temporal-spec), which carries the zone rules: the database
// only compares created_at with the instants this module gives it.
import { ValidationError } from '../errors.ts'

export const PERIOD_UNITS = ['day', 'week', 'month'] as const
export type PeriodUnit = (typeof PERIOD_UNITS)[number]

export const DEFAULT_TIME_ZONE = 'UTC'

export const TIME_ZONE_RULE =
  'time_zone must be an IANA time zone name such as UTC, Europe/Berlin or America/New_York (not an offset such as +02:00: an offset has no daylight-saving rules)'

/**
 * The zone's identifier as Temporal spells it (`europe/berlin` is `Europe/Berlin`; links such as
 * `US/Eastern` are kept as given).
 * @throws {ValidationError} for a name Temporal does not know, or a bare UTC offset (`+02:00`,
 * `-0500`): an offset is a zone without daylight saving, the very mistake the metrics exist to avoid.
 */
export function resolveTimeZone(name: string): string {
  if (!/^[A-Za-z]/.test(name) || name.length > 64) throw new ValidationError(TIME_ZONE_RULE)
  try {
    return new Temporal.ZonedDateTime(0n, name).timeZoneId
  } catch {
    throw new ValidationError(TIME_ZONE_RULE)
  }
}

/** The local date of an instant in `zone`. */
function localDate(epochMs: number, zone: string): Temporal.PlainDate {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(zone).toPlainDate()
}

/** The first local date of the period that holds `date`. */
function periodDate(unit: PeriodUnit, date: Temporal.PlainDate): Temporal.PlainDate {
  if (unit === 'week') return date.subtract({ days: date.dayOfWeek - 1 })
  if (unit === 'month') return date.with({ day: 1 })
  return date
}

const STEP: Record<PeriodUnit, Temporal.DurationLike> = { day: { days: 1 }, week: { weeks: 1 }, month: { months: 1 } }

/** How many periods of `unit` hold some instant of [fromMs, untilMs] in `zone` (0 when from is after until). */
export function countPeriods(unit: PeriodUnit, zone: string, fromMs: number, untilMs: number): number {
  if (fromMs > untilMs) return 0
  const first = periodDate(unit, localDate(fromMs, zone))
  const last = periodDate(unit, localDate(untilMs, zone))
  if (unit === 'month') return first.until(last, { largestUnit: 'months' }).months + 1
  const days = first.until(last, { largestUnit: 'days' }).days
  return (unit === 'week' ? days / 7 : days) + 1
}

/** One period: where it starts, as an instant and as the local time with its offset. */
export interface Period {
  /** The instant of its local start, in epoch milliseconds (whole seconds). */
  readonly startMs: number
  /** Its local start in ISO 8601 with the offset in force then: `2026-03-29T00:00:00+01:00` (`+00:00` for UTC, never `Z`). */
  readonly label: string
}

/**
 * Every period of `unit` in `zone` that holds some instant of [fromMs, untilMs], in order: the
 * first starts at or before `fromMs`, the last at or before `untilMs`. Call countPeriods first: this
 * makes one object a period.
 */
export function periodsBetween(unit: PeriodUnit, zone: string, fromMs: number, untilMs: number): Period[] {
  const periods: Period[] = []
  if (fromMs > untilMs) return periods
  const last = periodDate(unit, localDate(untilMs, zone))
  for (let date = periodDate(unit, localDate(fromMs, zone)); Temporal.PlainDate.compare(date, last) <= 0; date = date.add(STEP[unit])) {
    // The start of the local day: midnight, or the first instant after it where midnight does not exist.
    const start = date.toZonedDateTime(zone)
    periods.push({ startMs: start.epochMilliseconds, label: start.toString({ timeZoneName: 'never', smallestUnit: 'second' }) })
  }
  return periods
}
