// The VBET allowlist as an export in flight sees it (a streamed export, a changes-feed download):
// read again at its batches, the reading at most ALLOWLIST_RECHECK_MS old, so that an account
// removed from VBET_ACCOUNT_IDS stops being exported within about a second (plus the batch already
// on its way). An export keeps the accounts it started with: one added meanwhile is not taken in.
import { AllowlistRevokedError, UnauthorizedError } from '../errors.ts'

/** How old the allowlist an export goes on with may be: at most one reading a second per export. */
export const ALLOWLIST_RECHECK_MS = 1000

/** The accounts an export may still read, of those it started with (the same Set while none is removed). */
export type AllowlistWatch = () => Promise<ReadonlySet<number>>

export interface AllowlistWatchOptions {
  readonly maxAgeMs?: number
  /** Milliseconds, monotonic; specs pass their own. */
  readonly clock?: () => number
  /** Told the accounts a reading found removed, each once (an export of several: it goes on without them). */
  readonly onNarrowed?: (removed: readonly number[]) => void
}

/**
 * A watch over the accounts `started` with (the allowlist read when the export began, narrowed to
 * its account_id): `read` (the allowlist now, as a request reads it) is called again once the last
 * reading is older than the window. The watch only narrows, never widens.
 * @throws {AllowlistRevokedError} (from the watch) once the one account an export asked for is out
 * of the allowlist (read throws UnauthorizedError, as a request would be answered 401).
 */
export function watchAllowlist(read: () => Promise<readonly number[]>, started: readonly number[], options: AllowlistWatchOptions = {}): AllowlistWatch {
  const maxAgeMs = options.maxAgeMs ?? ALLOWLIST_RECHECK_MS
  const clock = options.clock ?? (() => performance.now())
  let accounts: ReadonlySet<number> = new Set(started)
  let readAt = clock()
  return async () => {
    if (clock() - readAt < maxAgeMs) return accounts
    const startedAt = clock()
    let now: readonly number[]
    try {
      now = await read()
    } catch (error) {
      if (error instanceof UnauthorizedError) throw new AllowlistRevokedError(started, { cause: error })
      throw error
    }
    const current = new Set(now)
    const removed = [...accounts].filter((id) => !current.has(id))
    if (removed.length > 0) {
      accounts = new Set([...accounts].filter((id) => current.has(id)))
      // An export of several goes on with the rest (none left: its batches end there, complete).
      options.onNarrowed?.(removed)
    }
    readAt = startedAt
    return accounts
  }
}
