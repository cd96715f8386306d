// The time attributes of additional_attributes (resolved_time, reopen_time), read by PostgreSQL
// itself exactly as src/kpi/conversations.rules.ts's parseAttributeTime reads them in TypeScript,
// so that the metrics can aggregate chat_duration in SQL and still equal, figure for figure, what
// the rows endpoint shows. Written by hand because no cast does it: PostgreSQL's own casts accept
// other forms, and raise an error (failing the whole statement) on a date that does not exist,
// where the rule says "unreadable" and goes on. No step here can raise an error, whatever the value.
//
// Two paths to one answer. The forms the platform writes (`2026-01-10T09:15:00Z`, with a fraction
// or an offset `+02:00`, `2026-01-10 09:15:00`, Unix numbers) are recognised by their shape (the
// text with every digit turned into 9, compared with a few literals) and read by position, cheaply.
// Anything else goes through one regular expression (the rule's two, with JavaScript's whitespace
// spelled out), which costs PostgreSQL some 10–25 µs a row. The calendar is checked and counted
// in integer arithmetic either way, and numbers are read as float8 (strtod, as JavaScript's Number
// reads them) with the rule's millisecond threshold. spec/db/postgres-attribute-time.spec.ts
// compares both paths with the rule on generated values.
import { sql, type RawBuilder } from 'kysely'
import { TIMESTAMP_MAX, TIMESTAMP_MIN } from '../kpi/conversations.rules.ts'

/** What String.prototype.trim and JavaScript's `\s` take for whitespace. */
const WS = '[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]'

/**
 * One pattern for every form the rule reads, anchored, with groups: 1 the empty value (absent),
 * 2 a Unix number, 3–5 year, month, day, 6–8 hours, minutes, seconds, 9–11 the offset's sign,
 * hours and minutes. The fraction of a second is matched but not captured: whole seconds minus a
 * whole-minute offset never depend on it. No match at all: unreadable.
 */
export const ATTRIBUTE_TIME_PATTERN =
  `^(?:()|${WS}*(?:(-?[0-9]+(?:\\.[0-9]+)?)|([0-9]{4})-([0-9]{2})-([0-9]{2})` +
  `(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?)?` +
  `${WS}*(?:[Zz]|[Uu][Tt][Cc]|[Gg][Mm][Tt]|([+-])([0-9]{2})(?::?([0-9]{2}))?)?)${WS}*)$`

type Expression = RawBuilder<unknown>

/** A column of an earlier stage, by name. */
export type StageRef = (name: string) => Expression

/**
 * How an attribute is read, in stages each selected in a subquery of its own that the planner
 * keeps (`offset 0`): a stage reads the one before as plain columns, so no part is computed twice
 * (PostgreSQL does not share repeated subexpressions: written inline, the text would be extracted
 * and its shape computed some twenty times a row, and the year cut out of it a dozen).
 */
export interface AttributeReading {
  /**
   * Each stage's columns from the one before (the first from the row: `column ->> key` and its
   * shape; then its form and, for a text of no known form only, the match; then the fields:
   * kind, the date's integers, the number).
   */
  readonly stages: ReadonlyArray<(previous: StageRef) => Readonly<Record<string, Expression>>>
  /** From the last stage: the whole Unix seconds as float8 (NULL absent, NaN unreadable). */
  seconds(last: StageRef): RawBuilder<number | null>
}

/** The text with every ASCII digit as 9: `2026-01-10T09:15:00Z` is `9999-99-99T99:99:99Z`. */
function shapeOf(text: Expression): Expression {
  return sql`translate(${text}, '0123456789', '9999999999')`
}

/** After the 19 characters of date and time: an optional fraction, then nothing, Z or ±HH:MM (as a shape). */
function zoneShape(shape: Expression): Expression {
  const rest = sql`substr(${shape}, 20)`
  return sql`(case when left(${rest}, 2) = '.9' then ltrim(substr(${rest}, 2), '9') else ${rest} end)`
}

/** Date and time in one of the forms the platform writes: read by position. */
function isPlainDate(shape: Expression): Expression {
  return sql`(left(${shape}, 19) in ('9999-99-99T99:99:99', '9999-99-99 99:99:99') and ${zoneShape(shape)} in ('', 'Z', '+99:99', '-99:99'))`
}

/** A plain decimal number, optionally negative, with or without a fraction (no spaces, no exponent). */
function isPlainNumber(shape: Expression): Expression {
  const unsigned = sql`(case when left(${shape}, 1) = '-' then substr(${shape}, 2) else ${shape} end)`
  const afterDigits = sql`ltrim(${unsigned}, '9')`
  return sql`(left(${unsigned}, 1) = '9' and (${afterDigits} = '' or (left(${afterDigits}, 1) = '.' and length(${afterDigits}) > 1 and ltrim(substr(${afterDigits}, 2), '9') = '')))`
}

/** How `column ->> key` is read (see AttributeReading). */
export function attributeReading(column: string, key: string): AttributeReading {
  // Each stage computes what the next reads more than once, once per row: the text is extracted
  // once, its shape computed once, the form decided once, the seconds computed once.
  const texts = () => ({ text: sql`(${sql.ref(column)} ->> ${sql.lit(key)})` })
  const shapes = (previous: StageRef) => ({ text: previous('text'), shape: shapeOf(previous('text')) })
  const forms = (previous: StageRef) => {
    const shape = previous('shape')
    return { text: previous('text'), form: sql`case when ${isPlainDate(shape)} then 1 when ${isPlainNumber(shape)} then 2 else 0 end` }
  }
  const matches = (previous: StageRef) => {
    const [text, form] = [previous('text'), previous('form')]
    return {
      text,
      form,
      // Absent (null or '') needs no match either: most conversations have no reopen_time, many no resolved_time.
      match: sql`case when ${form} <> 0 or ${text} is null or ${text} = '' then null else regexp_match(${text}, ${sql.lit(ATTRIBUTE_TIME_PATTERN)}) end`,
    }
  }
  const fields = (previous: StageRef) => {
    const [t, f, m] = [previous('text'), previous('form'), previous('match')]
    const group = (n: number) => sql`${m}[${sql.lit(n)}]`
    // A date's integer at a position of the plain form, or a group of the match (0 when the group or the match is absent).
    const part = (from: number, length: number, n: number) =>
      sql`case when ${f} = 1 then substr(${t}, ${sql.lit(from)}, ${sql.lit(length)})::int when ${m} is null then 0 else coalesce((${group(n)})::int, 0) end`
    // A plain form ends in ±HH:MM, in Z, or in the time (or its fraction): only the first has a sign six from the end.
    const sign = sql`left(right(${t}, 6), 1)`
    const plainOffset = sql`case when ${sign} in ('+', '-') then case when ${sign} = '-' then -1 else 1 end * (substr(right(${t}, 5), 1, 2)::int * 60 + right(${t}, 2)::int) else 0 end`
    const matchedOffset = sql`case when ${group(9)} = '-' then -1 else 1 end * (coalesce((${group(10)})::int, 0) * 60 + coalesce((${group(11)})::int, 0))`
    const number = sql`case when ${f} = 2 then ${t} else ${group(2)} end`
    return {
      form: f,
      kind: sql`case when ${t} is null or ${t} = '' then null when ${f} = 1 then 1 when ${f} = 2 then 2 when ${group(2)} is not null then 2 when ${group(3)} is not null then 1 else 3 end`,
      y: part(1, 4, 3),
      mo: part(6, 2, 4),
      d: part(9, 2, 5),
      h: part(12, 2, 6),
      mi: part(15, 2, 7),
      s: part(18, 2, 8),
      offset: sql`case when ${f} = 1 then ${plainOffset} when ${m} is not null then ${matchedOffset} else 0 end`,
      // A number's value as float8 (strtod, as JavaScript's Number); null past 1e17, which no unit brings in range (and float8 may not hold).
      number: sql`case when ${f} = 2 or ${m} is not null then case when ${number} is not null and abs((${number})::numeric) < 1e17 then (${number})::float8 end end`,
    }
  }
  // The whole seconds before the range check: a date's (null when it does not exist), a number's (null when there is none).
  const instants = (previous: StageRef) => {
    const [kind, y, mo, d, h, mi, s, offset, number] = ['kind', 'y', 'mo', 'd', 'h', 'mi', 's', 'offset', 'number'].map(previous) as Expression[]
    return {
      form: previous('form'),
      kind: kind!,
      date: sql`case when ${kind} = 1 then ${dateSeconds(y!, mo!, d!, h!, mi!, s!, offset!)} end`,
      number: sql`case when ${kind} = 2 then ${numberSeconds(number!)} end`,
    }
  }
  return {
    stages: [texts, shapes, forms, matches, fields, instants],
    seconds(last) {
      const [kind, date, number] = ['kind', 'date', 'number'].map(last) as Expression[]
      return sql<number | null>`case
        when ${kind} is null then null
        when ${kind} = 1 then ${inRange(date!)}
        when ${kind} = 2 then ${inRange(number!)}
        else 'NaN'::float8
      end`
    },
  }
}

/** Whole seconds of calendar parts (integers), validated as the rule validates a date: null when it does not exist. */
function dateSeconds(y: Expression, mo: Expression, d: Expression, h: Expression, mi: Expression, s: Expression, offsetMinutes: Expression): Expression {
  // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil), on the
  // year moved on by 400 (one whole cycle) so that every division is of a positive number.
  const shifted = sql`(${y} + 400 - case when ${mo} <= 2 then 1 else 0 end)`
  const yoe = sql`(${shifted} % 400)`
  const doy = sql`((153 * ((${mo} + 9) % 12) + 2) / 5 + ${d} - 1)`
  const days = sql`((${shifted} / 400)::bigint * 146097 + ${yoe} * 365 + ${yoe} / 4 - ${yoe} / 100 + ${doy} - 719468 - 146097)`
  const leap = sql`case when ${y} % 4 = 0 and (${y} % 100 <> 0 or ${y} % 400 = 0) then 1 else 0 end`
  const monthDays = sql`case when ${mo} = 2 then 28 + ${leap} else 30 + (${mo} + ${mo} / 8) % 2 end`
  const valid = sql`${mo} between 1 and 12 and ${d} between 1 and ${monthDays} and ${h} <= 23 and ${mi} <= 59 and ${s} <= 59`
  const seconds = sql`(${days} * 86400 + ${h} * 3600 + ${mi} * 60 + ${s} - (${offsetMinutes}) * 60)`
  return sql`case when ${valid} then ${seconds} end`
}

/** Seconds in the API's years (0001–9999) as float8, else (out of range, or null: none) NaN. */
function inRange(seconds: Expression): Expression {
  return sql`case when ${seconds} between ${sql.lit(TIMESTAMP_MIN)} and ${sql.lit(TIMESTAMP_MAX)} then (${seconds})::float8 else 'NaN'::float8 end`
}

/**
 * A Unix number's whole seconds: seconds, or milliseconds from 1e11 on; the instant cut to the
 * millisecond toward zero (as a Date keeps it), then to the second below. Null (past 1e17): out
 * of range whatever the unit.
 */
function numberSeconds(number: Expression): Expression {
  const millis = sql`trunc(case when abs(${number}) >= 1e11::float8 then ${number} else ${number} * 1000 end)`
  return sql`floor(${millis} / 1000)`
}
