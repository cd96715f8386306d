// The endpoint's domain rules as pure functions: defaults and clamps of the parameters, the time
// range, the VBET allowlist, who may call, and how a stored conversation becomes a payload item.
// No I/O here: the repository reads, the routes wire, these decide.
import { UnauthorizedError } from '../errors.ts'
import { parseDateTime, toIsoSeconds, wholeSeconds } from './time.ts'

export const PAGE_SIZE_DEFAULT = 20
export const PAGE_SIZE_MIN = 1
export const PAGE_SIZE_MAX = 1000
export const PAGE_DEFAULT = 1
/** Beyond this a page number is not a page anyone pages to; the offset stays an exact integer. */
export const PAGE_MAX = 2_147_483_647
/** The Unix timestamps of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what both databases can hold. */
export const TIMESTAMP_MIN = -62_135_596_800
export const TIMESTAMP_MAX = 253_402_300_799

export type SortDirection = 'asc' | 'desc'

export const STATUS_WORDS = ['open', 'resolved', 'pending', 'snoozed'] as const
/** Only for a status code the platform does not define: the row is still shown, never dropped. */
export const UNKNOWN_STATUS = 'unknown'
export type StatusWord = (typeof STATUS_WORDS)[number] | typeof UNKNOWN_STATUS

/** `page_size` clamped to [1, 1000]; absent means 20. */
export function clampPageSize(pageSize: number | undefined): number {
  if (pageSize === undefined) return PAGE_SIZE_DEFAULT
  return Math.min(PAGE_SIZE_MAX, Math.max(PAGE_SIZE_MIN, pageSize))
}

/** `page` is 1-based; absent or below 1 means 1. */
export function clampPage(page: number | undefined): number {
  return page === undefined || page < 1 ? PAGE_DEFAULT : page
}

/**
 * The default `since`: the start (00:00:00 UTC) of the day 100 calendar years before today, as a
 * Unix timestamp. Whole days, like the default `until`: requests without since/until on one day
 * resolve to one scope, so the count cache and page continuation serve them (to the second, they
 * would hit only within the same second).
 */
export function defaultSince(now: Date): number {
  const then = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  then.setUTCFullYear(then.getUTCFullYear() - 100)
  return wholeSeconds(then)
}

/** The default `until`: the last second of today (UTC), as a Unix timestamp. */
export function defaultUntil(now: Date): number {
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59) / 1000
}

/** A half-open range of creation instants: createdFrom <= created_at < createdBefore. */
export interface CreatedRange {
  readonly createdFrom: Date
  readonly createdBefore: Date
}

/**
 * `since` and `until` are inclusive and name whole seconds (the API shows times to the second), so
 * `until` covers its whole second: a conversation created at 10:00:00.4 is shown as 10:00:00Z and
 * belongs to `until` = 10:00:00. Consecutive ranges [a, b], [b + 1, c] then miss nothing.
 */
export function createdRange(since: number, until: number): CreatedRange {
  return { createdFrom: new Date(since * 1000), createdBefore: new Date((until + 1) * 1000) }
}

/**
 * The account ids of the VBET_ACCOUNT_IDS installation config, from its stored value (the parsed
 * jsonb): a YAML document in a JSON string, as the platform's Ruby YAML coder writes it, or an
 * object `{"value": ...}`. The value is a comma-separated list (spaces tolerated), a single number,
 * or a list. Anything that is not a positive integer is ignored: an id is never guessed, so a
 * missing, empty or unreadable config allows no account at all.
 */
export function parseVbetAccountIds(serializedValue: unknown): number[] {
  const value =
    typeof serializedValue === 'string'
      ? readYamlValue(serializedValue)
      : serializedValue !== null && typeof serializedValue === 'object' && !Array.isArray(serializedValue)
        ? (serializedValue as Record<string, unknown>).value
        : undefined
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value]
  const ids: number[] = []
  for (const item of items) {
    const text = typeof item === 'number' ? String(item) : typeof item === 'string' ? item.trim() : ''
    if (!/^\d+$/.test(text)) continue
    const id = Number(text)
    if (id > 0 && Number.isSafeInteger(id) && !ids.includes(id)) ids.push(id)
  }
  return ids
}

// The platform's documents are one mapping with a `value` key, e.g.
//   --- !ruby/hash:ActiveSupport::HashWithIndifferentAccess
//   value: '3,5,7'
// A full YAML parser would be a dependency for one key; this reads exactly the forms a
// one-key mapping can take: quoted, plain, flow list `[3, 5]` or block list `- 3`.
function readYamlValue(document: string): unknown {
  const lines = document.replace(/\r\n?/g, '\n').split('\n')
  const at = lines.findIndex((line) => /^:?value:(\s|$)/.test(line))
  if (at < 0) return undefined
  const rest = lines[at]!.replace(/^:?value:/, '').trim()
  if (rest === '' || rest.startsWith('#')) {
    const list: string[] = []
    for (const line of lines.slice(at + 1)) {
      const item = /^\s*-\s+(.*)$/.exec(line)
      if (!item) break
      list.push(yamlScalar(item[1]!))
    }
    return list
  }
  if (rest.startsWith('[') && rest.endsWith(']')) return rest.slice(1, -1).split(',').map(yamlScalar)
  return yamlScalar(rest)
}

function yamlScalar(text: string): string {
  const value = text.trim()
  if (value.startsWith("'")) return value.slice(1, value.lastIndexOf("'") > 0 ? value.lastIndexOf("'") : undefined).replaceAll("''", "'")
  if (value.startsWith('"')) {
    try {
      return String(JSON.parse(value.slice(0, value.lastIndexOf('"') + 1)))
    } catch {
      return ''
    }
  }
  return value.replace(/\s+#.*$/, '')
}

/** The owner of an access token, as the repository finds it. */
export interface TokenOwner {
  readonly ownerType: string | null
  /** The owning user's email; null when the owner is not a user or has none. */
  readonly userEmail: string | null
}

/**
 * Only a `User` (not an agent bot or a platform app, whose ids may collide with users') whose email
 * is the configured KPI tracker's, ignoring the case of ASCII letters only, may call the endpoint.
 */
export function isKpiTracker(owner: TokenOwner | undefined, kpiTrackerEmail: string): boolean {
  return (
    owner !== undefined &&
    owner.ownerType === 'User' &&
    owner.userEmail !== null &&
    asciiLowerCase(owner.userEmail) === asciiLowerCase(kpiTrackerEmail)
  )
}

/**
 * Only A–Z folded: Unicode case mapping would let a lookalike through (KELVIN SIGN lowercases to
 * "k"), and neither side is trimmed or normalised: the stored email must be the configured one.
 */
function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
}

/**
 * The accounts a request reads: all of `vbetAccountIds`, or the one `accountId` if it is among them.
 * @throws {UnauthorizedError} when `accountId` is not in the allowlist.
 */
export function scopeAccountIds(vbetAccountIds: readonly number[], accountId: number | undefined): number[] {
  if (accountId === undefined) return [...vbetAccountIds]
  if (!vbetAccountIds.includes(accountId)) {
    throw new UnauthorizedError(`account_id ${accountId} is not a VBET account you may read`)
  }
  return [accountId]
}

/** The word for a conversation status code: 0 open, 1 resolved, 2 pending, 3 snoozed. */
export function statusWord(code: number): StatusWord {
  return STATUS_WORDS[code] ?? UNKNOWN_STATUS
}

/** What a time attribute holds: a time, nothing, or something that is not a time. */
export type AttributeTime = { kind: 'time'; date: Date } | { kind: 'absent' } | { kind: 'malformed' }

/**
 * Reads `resolved_time` / `reopen_time` of additional_attributes: an ISO-8601 string (with or
 * without offset or fraction) or a Unix timestamp in seconds or milliseconds, as a number or a
 * numeric string. Numbers of magnitude 1e11 and above are milliseconds (1e11 seconds is the
 * year 5138, 1e11 ms is 1973).
 */
export function parseAttributeTime(value: unknown): AttributeTime {
  if (value === undefined || value === null || value === '') return { kind: 'absent' }
  let date: Date | null = null
  if (typeof value === 'number') date = fromUnix(value)
  else if (typeof value === 'string') {
    const text = value.trim()
    date = /^-?\d+(\.\d+)?$/.test(text) ? fromUnix(Number(text)) : parseDateTime(text)
  }
  if (date === null || Number.isNaN(date.getTime())) return { kind: 'malformed' }
  const seconds = wholeSeconds(date)
  if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX) return { kind: 'malformed' }
  return { kind: 'time', date }
}

function fromUnix(value: number): Date | null {
  if (!Number.isFinite(value)) return null
  return new Date(Math.abs(value) >= 1e11 ? value : value * 1000)
}

/**
 * chat_duration = resolved_time - (reopen_time || created_at), in whole seconds between the
 * instants as the API shows them (so it equals the difference of the shown times). Null without a
 * readable resolved_time, and null when a reopen_time is present but unreadable: the start of the
 * chat is then unknown, and falling back to created_at would report a wrong duration.
 */
export function chatDuration(resolved: AttributeTime, reopen: AttributeTime, createdAt: Date): number | null {
  if (resolved.kind !== 'time' || reopen.kind === 'malformed') return null
  const start = reopen.kind === 'time' ? reopen.date : createdAt
  return wholeSeconds(resolved.date) - wholeSeconds(start)
}

/** A conversation as the repository returns it, driver types already normalised. */
export interface ConversationRecord {
  readonly id: number
  readonly displayId: number
  readonly accountId: number
  readonly createdAt: Date
  /** When the platform last changed the conversation (the changes feed's order). */
  readonly updatedAt?: Date
  readonly status: number
  readonly additionalAttributes: Readonly<Record<string, unknown>>
  readonly assignee: { readonly id: number; readonly name: string; readonly email: string | null } | null
  readonly contact: { readonly id: number; readonly identifier: string | null } | null
}

/** One payload item of the response, in the API's field names. */
export interface ConversationItem {
  id: number
  display_id: number
  account_id: number
  created_time: string
  resolved_time: string | null
  chat_duration: number | null
  status: StatusWord
  labels: string[]
  assignee: { id: number; name: string; email: string | null } | null
  contact: { id: number; identifier: string | null } | null
}

/** A stored conversation and its labels (in tagging order) as the API shows it. */
export function toConversationItem(record: ConversationRecord, labels: readonly string[]): ConversationItem {
  const resolved = parseAttributeTime(record.additionalAttributes.resolved_time)
  const reopen = parseAttributeTime(record.additionalAttributes.reopen_time)
  return {
    id: record.id,
    display_id: record.displayId,
    account_id: record.accountId,
    created_time: toIsoSeconds(record.createdAt),
    resolved_time: resolved.kind === 'time' ? toIsoSeconds(resolved.date) : null,
    chat_duration: chatDuration(resolved, reopen, record.createdAt),
    status: statusWord(record.status),
    labels: [...labels],
    assignee: record.assignee ? { ...record.assignee } : null,
    contact: record.contact ? { ...record.contact } : null,
  }
}
