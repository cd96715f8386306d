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

export function encodeCursor(state: CursorState, secret: string): string {
  const { query: q, page, after } = state
  const payload = b64(JSON.stringify([1, q.accountId, q.since, q.until, q.sortDirection, q.pageSize, page, after.sortAt, after.id]))
  return `${payload}.${b64(sign(payload, secret))}`
}

/**
 * @throws {ValidationError} for anything this deployment did not issue, or issued and was altered.
 */
export function decodeCursor(text: string, secret: string): CursorState {
  const invalid = () => new ValidationError('cursor is not one this service issued (altered, or from another deployment): start again without it')
  const [payload, signature, ...rest] = text.split('.')
  if (!payload || !signature || rest.length > 0) throw invalid()
  const expected = sign(payload, secret)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid()
  let fields: unknown
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  const [version, accountId, since, until, sortDirection, pageSize, page, sortAt, id] = Array.isArray(fields) ? fields : []
  if (version !== 1 || (sortDirection !== 'asc' && sortDirection !== 'desc') || typeof sortAt !== 'string') throw invalid()
  if (![since, until, pageSize, page, id].every(Number.isSafeInteger) || !(accountId === null || Number.isSafeInteger(accountId))) throw invalid()
  return { query: { accountId, since, until, sortDirection, pageSize }, page, after: { sortAt, id } }
}
