// The changes feed's use case: conversations by when they last changed (updated_at, then id), for
// a warehouse that keeps itself in sync. A walk starts at start_time and continues by cursor, now or
// days later; rows younger than the lag are held back, so that a change committed late (its
// updated_at set before a slower transaction committed) is not skipped: end_time says up to when
// the feed is complete. A conversation changed again comes again, in its new state.
import { toDbTimestamp } from '../db/dialect.ts'
import { ValidationError } from '../errors.ts'
import type { ChangeItem, ChangesPage, ChangesQuery } from './changes.model.ts'
import { CHANGES_PAGE_SIZE_DEFAULT } from './changes.model.ts'
import * as repository from './conversations.repository.ts'
import type { PageBoundary } from './conversations.repository.ts'
import { clampPageSize, toConversationItem, type ConversationRecord } from './conversations.rules.ts'
import { allowedAccounts, streamBatches, type KpiDeps } from './conversations.service.ts'
import { decodeChangesCursor, encodeChangesCursor, type ChangesCursorState } from './cursor.ts'
import { toIsoSeconds } from './time.ts'

export interface ChangesDeps extends KpiDeps {
  /** Changes younger than this are not served yet (CHANGES_LAG_SECONDS). */
  readonly changesLagSeconds: number
}

/** Where a request of the feed starts, and up to when it is served. */
interface ChangesStart extends ChangesCursorState {
  /** Unix seconds, exclusive: end_time. */
  readonly endTime: number
}

/**
 * start_time starts a walk, cursor continues one; the walk keeps its account_id and page_size.
 * @throws {ValidationError} without either, with both, or with a cursor of another walk.
 */
function resolveChanges(deps: ChangesDeps, query: ChangesQuery, given: ReadonlySet<string>): ChangesStart {
  const endTime = Math.floor(deps.now().getTime() / 1000) - deps.changesLagSeconds
  if (query.cursor !== undefined && query.start_time !== undefined) {
    throw new ValidationError('start_time and cursor: give one (start_time starts a walk, cursor continues it)')
  }
  if (query.cursor === undefined) {
    if (query.start_time === undefined) throw new ValidationError('start_time is required (Unix seconds), or a cursor to continue a walk')
    const pageSize = clampPageSize(query.page_size ?? CHANGES_PAGE_SIZE_DEFAULT)
    return { accountId: query.account_id ?? null, pageSize, startTime: query.start_time, after: undefined, endTime }
  }
  const state = decodeChangesCursor(query.cursor, deps.cursorSecret)
  const changed = [
    given.has('account_id') && query.account_id !== (state.accountId ?? undefined) ? 'account_id' : undefined,
    given.has('page_size') && clampPageSize(query.page_size) !== state.pageSize ? 'page_size' : undefined,
  ].filter(Boolean)
  if (changed.length > 0) throw new ValidationError(`cursor belongs to another walk: ${changed.join(', ')} must stay as the walk began (or be left out)`)
  return { ...state, endTime }
}

function scopeOf(accountIds: number[], start: ChangesStart): repository.ConversationScope {
  return { accountIds, timeColumn: 'updated_at', createdFrom: new Date(start.startTime * 1000), createdBefore: new Date(start.endTime * 1000) }
}

function toChangeItem(record: ConversationRecord, labels: readonly string[]): ChangeItem {
  return { ...toConversationItem(record, labels), updated_time: toIsoSeconds(record.updatedAt ?? record.createdAt) }
}

/**
 * One page of the feed.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist (checked at every page).
 * @throws {ValidationError} as resolveChanges says.
 */
export async function readChanges(deps: ChangesDeps, query: ChangesQuery, given: ReadonlySet<string> = new Set(Object.keys(query))): Promise<ChangesPage> {
  const { connection } = deps
  const start = resolveChanges(deps, query, given)
  const scope = scopeOf(await allowedAccounts(deps, start.accountId ?? undefined), start)
  // One row more than the page: whether the feed goes on before end_time.
  const found = await repository.findPageIds(connection, scope, { sortDirection: 'asc', limit: start.pageSize + 1, offset: 0, after: start.after })
  const ids = found.ids.slice(0, start.pageSize)
  const last: PageBoundary | undefined = ids.length > 0 ? found.boundaries[ids.length - 1] : start.after
  const [records, labels] = await Promise.all([repository.findConversations(connection, ids), repository.findLabels(connection, ids)])
  return {
    meta: {
      page_size: start.pageSize,
      next_cursor: encodeChangesCursor({ accountId: start.accountId, pageSize: start.pageSize, startTime: start.startTime, after: last }, deps.cursorSecret),
      end_of_stream: found.ids.length <= start.pageSize,
      end_time: start.endTime,
    },
    payload: records.map((record) => toChangeItem(record, labels.get(record.id) ?? [])),
  }
}

/**
 * The feed from where the request starts to end_time, for a streamed export, and the cursor that
 * resumes right after it (every change at or after end_time).
 * @throws as readChanges.
 */
export async function openChangesExport(
  deps: ChangesDeps,
  query: ChangesQuery,
  given: ReadonlySet<string> = new Set(Object.keys(query)),
): Promise<{ startTime: number; endTime: number; resumeCursor: string; batches: AsyncGenerator<ChangeItem[]> }> {
  const start = resolveChanges(deps, query, given)
  const scope = scopeOf(await allowedAccounts(deps, start.accountId ?? undefined), start)
  // Everything before end_time is in this export: the next walk starts at end_time itself (id 0 is before every row).
  const resume = { sortAt: toDbTimestamp(new Date(start.endTime * 1000)), id: 0 }
  return {
    startTime: start.startTime,
    endTime: start.endTime,
    resumeCursor: encodeChangesCursor({ accountId: start.accountId, pageSize: start.pageSize, startTime: start.startTime, after: resume }, deps.cursorSecret),
    batches: streamBatches(deps.connection, scope, 'asc', start.after, toChangeItem),
  }
}
