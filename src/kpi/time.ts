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

/**
 * parseDateTime, quicker for the form both databases hand timestamps over in, `YYYY-MM-DD
 * HH:MM:SS[.ffffff]` (UTC): read digit by digit, without the general pattern. An export reads two
 * per row. Anything else, and years below 100 (which Date.UTC would move to the 1900s), goes to
 * parseDateTime; either way the answer is parseDateTime's.
 */
export function parseDatabaseTimestamp(text: string): Date | null {
  const length = text.length
  if (length < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return parseDateTime(text)
  }
  const year = digitsAt(text, 0, 4)
  const month = digitsAt(text, 5, 2)
  const day = digitsAt(text, 8, 2)
  const hour = digitsAt(text, 11, 2)
  const minute = digitsAt(text, 14, 2)
  const second = digitsAt(text, 17, 2)
  let ms = 0
  if (length > 19) {
    // A fraction: a dot and 1 or more digits, of which the first three count.
    if (text.charCodeAt(19) !== 46 || length === 20 || digitsAt(text, 20, length - 20) < 0) return parseDateTime(text)
    ms = digitsAt(text, 20, Math.min(3, length - 20)) * (length === 21 ? 100 : length === 22 ? 10 : 1)
  }
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || hour < 0 || minute < 0 || second < 0) {
    return parseDateTime(text)
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms)
  const date = new Date(utc)
  // A calendar date that does not exist rolls over: not a date.
  return date.getUTCDate() === day && date.getUTCMonth() === month - 1 ? date : null
}

/** The decimal number of `length` digits at `at`; -1 if any of them is not a digit. */
function digitsAt(text: string, at: number, length: number): number {
  let value = 0
  for (let index = at; index < at + length; index++) {
    const digit = text.charCodeAt(index) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
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
