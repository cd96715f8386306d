// Seals for values kept in shared state (Redis): whoever can write to Redis must not be able to
// decide who may read, or which rows and counts a client gets. A value is stored with an HMAC-SHA256
// under a key Redis never holds (derived from CURSOR_SECRET with a label of its own, so it is not
// the key that signs cursors), bound to the key it is stored under (a value cannot be moved to
// another key) and to its expiry (an old value cannot be put back for longer than it lived).
// A value that fails is not used: the caller treats it as a miss.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/** Distinct from every other use of the secret (cursors sign with it directly). */
const DERIVATION_LABEL = 'kpi-conversations/shared-state-seal/v1'

export type Opened = { readonly ok: true; readonly payload: string } | { readonly ok: false; readonly reason: 'forged' | 'expired' }

export class Seal {
  readonly #key: Buffer

  /** `secret`: CURSOR_SECRET, or the process's random secret when it is unset. */
  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'kpi-conversations', DERIVATION_LABEL, 32))
  }

  #mac(key: string, expiresAt: number, payload: string): Buffer {
    return createHmac('sha256', this.#key).update(`${key}\n${expiresAt}\n${payload}`).digest()
  }

  /** `payload` as stored under `key` until `expiresAt` (ms since the epoch): `<expiresAt>.<mac>.<payload>`. */
  seal(key: string, payload: string, expiresAt: number): string {
    return `${expiresAt}.${this.#mac(key, expiresAt, payload).toString('base64url')}.${payload}`
  }

  /**
   * The payload of a value this deployment sealed for `key`, still before its expiry at `now`;
   * `forged` for anything else (altered, made up, moved from another key, sealed with another
   * secret), `expired` for a genuine value past its lifetime (a clock skew between instances, or a
   * value put back).
   */
  open(key: string, stored: string, now: number): Opened {
    const first = stored.indexOf('.')
    const second = first < 0 ? -1 : stored.indexOf('.', first + 1)
    if (second < 0) return { ok: false, reason: 'forged' }
    const expiresText = stored.slice(0, first)
    const expiresAt = Number(expiresText)
    if (!/^\d{1,16}$/.test(expiresText)) return { ok: false, reason: 'forged' }
    const given = Buffer.from(stored.slice(first + 1, second), 'base64url')
    const payload = stored.slice(second + 1)
    const expected = this.#mac(key, expiresAt, payload)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' }
    if (expiresAt <= now) return { ok: false, reason: 'expired' }
    return { ok: true, payload }
  }
}
