// Cursors for keyset pagination: where a walk through one query stands, opaque to clients and
// signed (HMAC-SHA256) so that a cursor cannot be forged, altered, or carried to another query.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { ValidationError } from '../errors.ts'
import type { SortDirection } from './conversations.rules.ts'

/** The query a walk belongs to, as it was resolved at its first page. */
export interface CursorQuery {
  /** account_id as asked (null: all VBET accounts, as the allowlist says at each page). */
  readonly accountId: number | null
  readonly since: number
  readonly until: number
  readonly sortDirection: SortDirection
  readonly pageSize: number
}

export interface CursorState {
  readonly query: CursorQuery
  /** The page this cursor opens (1-based). */
  readonly page: number
  /** The last row of the page before it. */
  readonly after: { readonly sortAt: string; readonly id: number }
}

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url')
const sign = (payload: string, secret: string) => createHmac('sha256', secret).update(payload).digest()

/** Fields, as signed text: `payload.signature`. The first field names the kind of cursor. */
function seal(fields: readonly unknown[], secret: string): string {
  const payload = b64(JSON.stringify(fields))
  return `${payload}.${b64(sign(payload, secret))}`
}

const invalid = () => new ValidationError('cursor is not one this service issued (altered, or from another deployment): start again without it')

/** The fields of a cursor this deployment sealed. @throws {ValidationError} otherwise. */
function unseal(text: string, secret: string): unknown[] {
  const [payload, signature, ...rest] = text.split('.')
  if (!payload || !signature || rest.length > 0) throw invalid()
  const expected = sign(payload, secret)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid()
  try {
    const fields: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    if (Array.isArray(fields)) return fields
  } catch {
    // falls through
  }
  throw invalid()
}

export function encodeCursor(state: CursorState, secret: string): string {
  const { query: q, page, after } = state
  return seal([1, q.accountId, q.since, q.until, q.sortDirection, q.pageSize, page, after.sortAt, after.id], secret)
}

/**
 * @throws {ValidationError} for anything this deployment did not issue, or issued and was altered
 * (a cursor of the changes feed included).
 */
export function decodeCursor(text: string, secret: string): CursorState {
  const [version, accountId, since, until, sortDirection, pageSize, page, sortAt, id] = unseal(text, secret)
  if (version !== 1 || (sortDirection !== 'asc' && sortDirection !== 'desc') || typeof sortAt !== 'string') throw invalid()
  if (![since, until, pageSize, page, id].every(Number.isSafeInteger) || !(accountId === null || Number.isSafeInteger(accountId))) throw invalid()
  return { query: { accountId: accountId as number | null, since: since as number, until: until as number, sortDirection, pageSize: pageSize as number }, page: page as number, after: { sortAt, id: id as number } }
}

/** A place in the change capture's log (src/sync/change-log.repository.ts). */
export interface LogPosition {
  readonly xid: number
  readonly seq: number
  readonly sub: number
}

/**
 * Rows a walk of the changes feed owes before it goes on: every conversation of these accounts
 * (added to the allowlist, or all of them at the start of an exact walk) updated from the walk's
 * start_time on (and before `before`, Unix seconds, in plain mode), after `after`.
 */
export interface Backfill {
  readonly accounts: readonly number[]
  readonly before: number | null
  readonly after: { readonly sortAt: string; readonly id: number } | undefined
}

interface ChangesWalk {
  readonly accountId: number | null
  readonly pageSize: number
  /** The walk's start_time (Unix seconds). */
  readonly startTime: number
  /** The accounts the walk's previous page was served for; undefined in cursors issued before they were kept. */
  readonly accounts: readonly number[] | undefined
  readonly backfills: readonly Backfill[]
}

/** A walk of the plain feed (no change capture): by updated_at, then id. */
export interface PlainChangesCursorState extends ChangesWalk {
  readonly mode: 'plain'
  /** The last row given (updated_at as the database compares it, and id); none before the first. */
  readonly after: { readonly sortAt: string; readonly id: number } | undefined
}

/** A walk of the exact feed: a place in the change capture's log. */
export interface ExactChangesCursorState extends ChangesWalk {
  readonly mode: 'exact'
  /** Where the walk stands in the log; undefined until its first page is read. */
  readonly position: LogPosition | undefined
  /** When that place was written (Unix seconds, the database's clock): past the retention, the log may have lost what follows it. */
  readonly positionAt: number
  /** The highest watermark the walk has been served from: a snapshot older than that (a lagging replica) serves nothing. */
  readonly seen: number
}

/** Where a client stands in the changes feed. */
export type ChangesCursorState = PlainChangesCursorState | ExactChangesCursorState

const backfillFields = (b: Backfill) => [b.accounts, b.before, b.after?.sortAt ?? null, b.after?.id ?? null]

export function encodeChangesCursor(state: ChangesCursorState, secret: string): string {
  const walk = [state.accountId, state.pageSize, state.startTime, state.accounts ?? null, state.backfills.map(backfillFields)]
  if (state.mode === 'plain') return seal(['changes2', 'plain', ...walk, state.after?.sortAt ?? null, state.after?.id ?? null], secret)
  const p = state.position
  return seal(['changes2', 'exact', ...walk, p ? [p.xid, p.seq, p.sub] : null, state.positionAt, state.seen], secret)
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value)
const isIds = (value: unknown): value is number[] => Array.isArray(value) && value.every(isId)

/** A keyset boundary from its two fields (both null: none). @throws {ValidationError} otherwise. */
function boundaryOf(sortAt: unknown, id: unknown): { sortAt: string; id: number } | undefined {
  if (sortAt === null && id === null) return undefined
  if (typeof sortAt === 'string' && isId(id)) return { sortAt, id }
  throw invalid()
}

/** @throws {ValidationError} for anything but a changes cursor this deployment issued. */
export function decodeChangesCursor(text: string, secret: string): ChangesCursorState {
  const fields = unseal(text, secret)
  if (fields[0] === 'changes') {
    // Issued before the feed kept its accounts: a plain walk, its accounts as the allowlist is now.
    const [, accountId, pageSize, startTime, sortAt, id] = fields
    if (!isId(pageSize) || !isId(startTime) || !(accountId === null || isId(accountId))) throw invalid()
    return { mode: 'plain', accountId, pageSize, startTime, accounts: undefined, backfills: [], after: boundaryOf(sortAt, id) }
  }
  const [kind, mode, accountId, pageSize, startTime, accounts, backfills, ...rest] = fields
  if (kind !== 'changes2' || !isId(pageSize) || !isId(startTime) || !(accountId === null || isId(accountId))) throw invalid()
  if (!(accounts === null || isIds(accounts)) || !Array.isArray(backfills)) throw invalid()
  const walk: ChangesWalk = {
    accountId,
    pageSize,
    startTime,
    accounts: accounts ?? undefined,
    backfills: backfills.map((fields: unknown) => {
      if (!Array.isArray(fields)) throw invalid()
      const [ids, before, sortAt, id] = fields
      if (!isIds(ids) || !(before === null || isId(before))) throw invalid()
      return { accounts: ids, before, after: boundaryOf(sortAt, id) }
    }),
  }
  if (mode === 'plain' && rest.length === 2) return { ...walk, mode, after: boundaryOf(rest[0], rest[1]) }
  if (mode === 'exact' && rest.length === 3) {
    const [position, positionAt, seen] = rest
    if (typeof positionAt !== 'number' || !Number.isFinite(positionAt) || !isId(seen)) throw invalid()
    if (position !== null && !(isIds(position) && position.length === 3)) throw invalid()
    return { ...walk, mode, position: position ? { xid: position[0]!, seq: position[1]!, sub: position[2]! } : undefined, positionAt, seen }
  }
  throw invalid()
}
