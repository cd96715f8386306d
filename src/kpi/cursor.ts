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

/** Where a client stands in the changes feed: its walk's query and the last row it was given. */
export interface ChangesCursorState {
  readonly accountId: number | null
  readonly pageSize: number
  /** The walk's start_time (Unix seconds). */
  readonly startTime: number
  /** The last row given (updated_at as the database compares it, and id); none before the first. */
  readonly after: { readonly sortAt: string; readonly id: number } | undefined
}

export function encodeChangesCursor(state: ChangesCursorState, secret: string): string {
  return seal(['changes', state.accountId, state.pageSize, state.startTime, state.after?.sortAt ?? null, state.after?.id ?? null], secret)
}

/** @throws {ValidationError} for anything but a changes cursor this deployment issued. */
export function decodeChangesCursor(text: string, secret: string): ChangesCursorState {
  const [kind, accountId, pageSize, startTime, sortAt, id] = unseal(text, secret)
  if (kind !== 'changes' || !Number.isSafeInteger(pageSize) || !Number.isSafeInteger(startTime)) throw invalid()
  if (!(accountId === null || Number.isSafeInteger(accountId))) throw invalid()
  const after = sortAt === null && id === null ? undefined : typeof sortAt === 'string' && Number.isSafeInteger(id) ? { sortAt, id: id as number } : null
  if (after === null) throw invalid()
  return { accountId: accountId as number | null, pageSize: pageSize as number, startTime: startTime as number, after }
}
