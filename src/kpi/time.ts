// Time parsing shared by the repository (timestamp columns) and the rules (free-form attribute
// values). Timestamps without an offset are UTC: that is the platform's convention for its
// `timestamp without time zone` columns, and JavaScript would otherwise read them as local time.

// `2026-01-10 09:15:00`, `2026-01-10T09:15:00.123456Z`, `2026-01-10T11:15:00+02:00`, `... +0200`,
// and Ruby's Time#to_s `2026-01-10 09:15:00 UTC`.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i

/** Parses a date-time text as UTC unless it carries an offset; null when it is not one. */
export function parseDateTime(text: string): Date | null {
  const match = DATE_TIME.exec(text.trim())
  if (!match) return null
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = match
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'))
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0)
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), Number(s), ms)
  const utc = date.getTime()
  // A calendar date that does not exist (2026-02-30 would roll over into March) is not a date.
  if (
    Number.isNaN(utc) ||
    date.getUTCFullYear() !== Number(y) ||
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return null
  }
  return new Date(utc - offsetMinutes(zone) * 60_000)
}

function offsetMinutes(zone: string): number {
  if (/^(Z|UTC|GMT)$/i.test(zone)) return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'))
}

/** ISO-8601 in UTC to the whole second, as the API shows times: `2026-01-10T08:30:00Z`. */
export function toIsoSeconds(date: Date): string {
  return new Date(wholeSeconds(date) * 1000).toISOString().replace('.000Z', 'Z')
}

/** Seconds since the epoch, rounded down: the instant the API shows for a date. */
export function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000)
}
