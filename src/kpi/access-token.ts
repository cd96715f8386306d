// The access token a request carries, read the way the platform reads it (the `api_access_token`
// header, or `api-access-token` for proxies that drop underscores), and the fixed-size key it is
// remembered by in caches and rate limits, so that no client-chosen string is ever kept whole.
import { createHash } from 'node:crypto'

/**
 * The platform issues 24-character tokens; anything longer than this is junk, refused before the
 * database and before any cache.
 */
export const MAX_TOKEN_LENGTH = 128

export type TokenReading =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'missing' }
  /**
   * Two different tokens (in two lines or two spellings), one longer than any real token, or one
   * with a character no platform token has (anything but visible ASCII).
   */
  | { readonly kind: 'unusable'; readonly reason: 'ambiguous' | 'too long' | 'malformed' }

const SPELLINGS = ['api_access_token', 'api-access-token'] as const

/**
 * HTTP's optional whitespace around a field value: SP and HTAB, nothing else (RFC 9110 §5.6.3).
 * Not String.prototype.trim(), which also takes U+00A0, U+000B, U+000C and every Unicode space, and
 * so read `token<NBSP>` as `token`.
 */
const OPTIONAL_WHITESPACE = /^[ \t]+|[ \t]+$/g

/** What a platform token is made of: visible ASCII (the platform issues 24 alphanumeric characters). */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/

/**
 * The one token a request sends. Every line of both spellings counts: an empty line or spelling
 * does not hide a token in the other, the same token sent twice is that token, two different
 * tokens are unusable (which one would the client mean?).
 */
export function readAccessToken(headers: Headers): TokenReading {
  const values = new Set<string>()
  for (const name of SPELLINGS) {
    // Headers joins repeated lines with ", "; tokens never hold a comma.
    for (const part of headers.get(name)?.split(',') ?? []) {
      const value = part.replace(OPTIONAL_WHITESPACE, '')
      if (value !== '') values.add(value)
    }
  }
  if (values.size === 0) return { kind: 'missing' }
  if (values.size > 1) return { kind: 'unusable', reason: 'ambiguous' }
  const [token] = values as unknown as [string]
  if (token.length > MAX_TOKEN_LENGTH) return { kind: 'unusable', reason: 'too long' }
  if (!TOKEN_CHARACTERS.test(token)) return { kind: 'unusable', reason: 'malformed' }
  return { kind: 'token', token }
}

/** A token's key in caches and rate limits: SHA-256, 43 characters whatever the token's length. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
