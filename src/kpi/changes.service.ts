// The changes feed's use case: conversations as they change, for a warehouse that keeps a copy.
// Two modes, chosen by what the database has:
// - exact, where the change capture is installed (src/sync/): the walk follows the capture's log in
//   transaction order, below the oldest transaction still running, so every change of any field an
//   item shows comes once it is committed, however late, deletions included;
// - plain, without it: conversations by updated_at, held back CHANGES_LAG_SECONDS behind the
//   database's clock (or a standby's last replayed commit), with the bounds the docs state.
// In both, a walk keeps the allowlist it was served for: the first page after VBET_ACCOUNT_IDS
// changed says which accounts came and went, and the walk brings every row of an account added.
import { toDbTimestamp } from '../db/dialect.ts'
import { GoneError, ValidationError } from '../errors.ts'
import type { CaptureProbe } from '../sync/capture-probe.ts'
import { readBackfillPage, readFeedClock, readLogPage, readSnapshot, WHOLE_ENTRY, type LogPosition, type LogRow } from '../sync/change-log.repository.ts'
import type { ChangeItem, ChangesPage, ChangesQuery, LiveChangeItem } from './changes.model.ts'
import { CHANGES_PAGE_SIZE_DEFAULT } from './changes.model.ts'
import * as repository from './conversations.repository.ts'
import type { PageBoundary } from './conversations.repository.ts'
import { clampPageSize, toConversationItem, type ConversationRecord } from './conversations.rules.ts'
import { allowedAccounts, stillAllowed, streamBatches, type AllowlistRead, type KpiDeps } from './conversations.service.ts'
import { watchAllowlist } from './allowlist-watch.ts'
import {
  decodeChangesCursor,
  encodeChangesCursor,
  type Backfill,
  type ChangesCursorState,
  type ExactChangesCursorState,
  type PlainChangesCursorState,
} from './cursor.ts'
import { toIsoSeconds } from './time.ts'

export interface ChangesDeps extends KpiDeps {
  /** Plain mode: changes younger than this are not served yet (CHANGES_LAG_SECONDS). */
  readonly changesLagSeconds: number
  /** Exact mode: a cursor older than this many days is 410 (CHANGES_RETENTION_DAYS; the capture's own, when shorter). */
  readonly changesRetentionDays: number
  /** Whether the change capture is there (exact mode). */
  readonly capture: CaptureProbe
  /**
   * Plain mode's clock: the database's time and a standby's last replayed commit (Unix seconds).
   * The database's own (readFeedClock) unless a spec simulates time.
   */
  readonly feedClock?: () => Promise<FeedClock>
}

export interface FeedClock {
  readonly now: number
  readonly replayed: number | undefined
}

/** What a request asks for: a new walk, or the one its cursor continues. */
type Asked = { readonly kind: 'start'; readonly accountId: number | null; readonly pageSize: number; readonly startTime: number } | { readonly kind: 'cursor'; readonly state: ChangesCursorState }

/**
 * start_time starts a walk, cursor continues one; the walk keeps its account_id and page_size.
 * @throws {ValidationError} without either, with both, or with a cursor of another walk.
 */
function resolveRequest(deps: ChangesDeps, query: ChangesQuery, given: ReadonlySet<string>): Asked {
  if (query.cursor !== undefined && query.start_time !== undefined) {
    throw new ValidationError('start_time and cursor: give one (start_time starts a walk, cursor continues it)')
  }
  if (query.cursor === undefined) {
    if (query.start_time === undefined) throw new ValidationError('start_time is required (Unix seconds), or a cursor to continue a walk')
    return { kind: 'start', accountId: query.account_id ?? null, pageSize: clampPageSize(query.page_size ?? CHANGES_PAGE_SIZE_DEFAULT), startTime: query.start_time }
  }
  const state = decodeChangesCursor(query.cursor, deps.cursorSecret)
  const changed = [
    given.has('account_id') && query.account_id !== (state.accountId ?? undefined) ? 'account_id' : undefined,
    given.has('page_size') && clampPageSize(query.page_size) !== state.pageSize ? 'page_size' : undefined,
  ].filter(Boolean)
  if (changed.length > 0) throw new ValidationError(`cursor belongs to another walk: ${changed.join(', ')} must stay as the walk began (or be left out)`)
  return { kind: 'cursor', state }
}

/** The allowlist as the walk last saw it against as it is now. */
interface AllowlistChange {
  readonly added: number[]
  readonly removed: number[]
}

function allowlistChange(previous: readonly number[] | undefined, now: readonly number[]): AllowlistChange {
  if (previous === undefined) return { added: [], removed: [] }
  return { added: now.filter((id) => !previous.includes(id)), removed: previous.filter((id) => !now.includes(id)) }
}

/** Where the request's walk stands once the allowlist of now is taken in: accounts added owe a backfill. */
interface Walk {
  readonly state: ChangesCursorState
  readonly change: AllowlistChange
  /** The state to answer with when this page cannot serve anything (the walk as it came). */
  readonly unchanged: ChangesCursorState
}

/**
 * The walk this request serves, in the mode the database allows: a new one starts exact when the
 * capture is there; an exact one whose capture was removed goes on plain (from a little before
 * where it stood); a plain one stays plain (an exact copy starts from start_time).
 */
function walkOf(deps: ChangesDeps, asked: Asked, accounts: number[], exact: boolean, plainEnd: number): Walk {
  if (asked.kind === 'start') {
    const walk = { accountId: asked.accountId, pageSize: asked.pageSize, startTime: asked.startTime, accounts }
    const state: ChangesCursorState = exact
      ? { ...walk, mode: 'exact', backfills: [{ accounts, before: null, after: undefined }], position: undefined, positionAt: 0, seen: 0 }
      : { ...walk, mode: 'plain', backfills: [], after: undefined }
    return { state, change: { added: [], removed: [] }, unchanged: state }
  }
  let state = asked.state
  if (state.mode === 'exact' && !exact) state = toPlain(deps, state, plainEnd)
  const change = allowlistChange(state.accounts, accounts)
  const backfill: Backfill[] = change.added.length > 0 ? [{ accounts: change.added, before: state.mode === 'plain' ? plainEnd : null, after: undefined }] : []
  return { state: { ...state, accounts, backfills: [...state.backfills, ...backfill] }, change, unchanged: asked.state }
}

/** An exact walk whose capture is gone, as a plain one: from CHANGES_LAG_SECONDS before where it stood, by updated_at. */
function toPlain(deps: ChangesDeps, state: ExactChangesCursorState, plainEnd: number): PlainChangesCursorState {
  const { position, positionAt, seen, ...walk } = state
  const backfills = walk.backfills.map((backfill) => ({ ...backfill, before: backfill.before ?? plainEnd }))
  const resumeAt = Math.floor(positionAt) - deps.changesLagSeconds
  return { ...walk, mode: 'plain', backfills, after: position ? { sortAt: toDbTimestamp(new Date(resumeAt * 1000)), id: 0 } : undefined }
}

/** One served page: its items, the walk after it, whether it reached the end, and its end_time. */
interface Served {
  readonly items: ChangeItem[]
  readonly state: ChangesCursorState
  readonly endOfStream: boolean
  readonly endTime: number
}

/**
 * One page of the feed; `allowlist`, this request's read of it while it authenticated, when it made one.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist (checked at every page).
 * @throws {ValidationError} as resolveRequest says.
 * @throws {GoneError} for an exact walk older than the retention.
 */
export async function readChanges(
  deps: ChangesDeps,
  query: ChangesQuery,
  given: ReadonlySet<string> = new Set(Object.keys(query)),
  allowlist?: AllowlistRead,
): Promise<ChangesPage> {
  const asked = resolveRequest(deps, query, given)
  const accountId = asked.kind === 'start' ? asked.accountId : asked.state.accountId
  const [accounts, mode] = await Promise.all([allowedAccounts(deps, accountId ?? undefined, allowlist), deps.capture.mode()])
  // Plain mode's end_time is the database's time, not this process's.
  const plain = !mode.exact || (asked.kind === 'cursor' && asked.state.mode === 'plain')
  const plainEnd = plain ? plainEndTime(deps, await clockOf(deps)) : 0
  const walk = walkOf(deps, asked, accounts, mode.exact, plainEnd)
  const served =
    walk.state.mode === 'exact'
      ? await exactPage(deps, walk.state, accounts, retentionOf(deps, mode.retentionDays))
      : await plainPage(deps, walk.state, accounts, plainEnd)
  const announced = served.state === walk.unchanged ? { added: [], removed: [] } : walk.change
  return {
    meta: {
      page_size: served.state.pageSize,
      next_cursor: encodeChangesCursor(served.state, deps.cursorSecret),
      end_of_stream: served.endOfStream,
      end_time: served.endTime,
      exact: served.state.mode === 'exact',
      ...(announced.added.length > 0 ? { accounts_added: announced.added } : {}),
      ...(announced.removed.length > 0 ? { accounts_removed: announced.removed } : {}),
    },
    payload: served.items,
  }
}

function clockOf(deps: ChangesDeps): Promise<FeedClock> {
  return deps.feedClock ? deps.feedClock() : readFeedClock(deps.connection)
}

/** Plain mode's end_time: the lag before the database's clock, or before a standby's last replayed commit. */
function plainEndTime(deps: Pick<ChangesDeps, 'changesLagSeconds'>, clock: FeedClock): number {
  return Math.floor(Math.min(clock.now, clock.replayed ?? clock.now)) - deps.changesLagSeconds
}

/** How long an exact cursor lasts: the service's setting, or the capture's when shorter. */
function retentionOf(deps: ChangesDeps, captureDays: number | undefined): number {
  return Math.min(deps.changesRetentionDays, captureDays ?? Infinity)
}

function toChangeItem(record: ConversationRecord, labels: readonly string[]): LiveChangeItem {
  return { ...toConversationItem(record, labels), updated_time: toIsoSeconds(record.updatedAt ?? record.createdAt), deleted: false }
}

function itemOf(row: LogRow): ChangeItem {
  if (row.kind === 'live') return toChangeItem(row.record, row.labels)
  return { id: row.id, account_id: row.accountId, deleted: true, updated_time: toIsoSeconds(new Date(row.at * 1000)) }
}

/** The first backfill the walk owes that still has an allowed account, and the walk without the ones that have none. */
function pendingBackfill<S extends ChangesCursorState>(state: S, accounts: readonly number[]): { state: S; backfill: Backfill | undefined } {
  const backfills = state.backfills
    .map((backfill) => ({ ...backfill, accounts: backfill.accounts.filter((id) => accounts.includes(id)) }))
    .filter((backfill) => backfill.accounts.length > 0)
  return { state: { ...state, backfills }, backfill: backfills[0] }
}

/** The walk with its first backfill advanced to `after`, or done. */
function backfilled<S extends ChangesCursorState>(state: S, after: PageBoundary | undefined): S {
  const [first, ...rest] = state.backfills
  return { ...state, backfills: after && first ? [{ ...first, after }, ...rest] : rest }
}

const LATEST = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999))

/** A backfill's conversations: of its accounts, updated from the walk's start_time (and before its bound, plain mode). */
function backfillScope(state: ChangesCursorState, backfill: Backfill): repository.ConversationScope {
  const before = backfill.before === null ? LATEST : new Date(backfill.before * 1000)
  return { accountIds: backfill.accounts, timeColumn: 'updated_at', createdFrom: new Date(state.startTime * 1000), createdBefore: before }
}

/**
 * A page of an exact walk: the backfills it owes first (every current conversation of their
 * accounts), then the capture's log from where it stands.
 */
async function exactPage(
  deps: ChangesDeps,
  walk: ExactChangesCursorState,
  accounts: readonly number[],
  retentionDays: number,
  before?: number,
): Promise<Served> {
  const { connection } = deps
  const { state, backfill } = pendingBackfill(walk, accounts)
  const limit = state.pageSize
  const expired = (readAt: number) => state.position !== undefined && readAt - state.positionAt > retentionDays * 86_400
  const gone = () =>
    new GoneError(`cursor is older than the change capture keeps (${retentionDays} days): the changes since are no longer known; walk again from start_time into a fresh copy`)
  if (backfill) {
    const page = await readBackfillPage(connection, backfillScope(state, backfill), { sortDirection: 'asc', limit: limit + 1, offset: 0, after: backfill.after })
    if (page.watermark < state.seen) return { items: [], state: walk, endOfStream: true, endTime: Math.floor(page.readAt) }
    if (expired(page.readAt)) throw gone()
    const rows = page.rows.slice(0, limit)
    const more = page.rows.length > limit
    // The walk's place in the log is taken from its first page: whatever changes after this snapshot is an entry from it on.
    const position = state.position ?? { xid: page.watermark, seq: 0, sub: 0 }
    const positionAt = state.position ? state.positionAt : page.readAt
    const next = backfilled({ ...state, position, positionAt, seen: Math.max(state.seen, page.watermark) }, more ? rows.at(-1)!.boundary : undefined)
    return { items: rows.map(({ record, labels }) => toChangeItem(record, labels)), state: next, endOfStream: false, endTime: Math.floor(page.readAt) }
  }
  if (!state.position) {
    // A new walk with nothing to backfill (no account allowed yet): it starts where the log stands now.
    const snapshot = await readSnapshot(connection)
    const position = { xid: snapshot.watermark, seq: 0, sub: 0 }
    return { items: [], state: { ...state, position, positionAt: snapshot.readAt, seen: snapshot.watermark }, endOfStream: true, endTime: Math.floor(snapshot.readAt) }
  }
  const from: LogPosition = state.position
  const entryLimit = 2 * limit + 100
  const page = await readLogPage(connection, { after: from, accountIds: accounts, limit: limit + 1, entryLimit, before })
  if (page.watermark < state.seen) return { items: [], state: walk, endOfStream: true, endTime: Math.floor(page.readAt) }
  if (expired(page.readAt)) throw gone()
  const rows = page.rows.slice(0, limit)
  const seen = Math.max(state.seen, page.watermark)
  let next: ExactChangesCursorState
  let endOfStream = false
  if (page.rows.length > limit) {
    const last = rows.at(-1)!
    next = { ...state, position: last.position, positionAt: last.at, seen }
  } else if (page.scanned === entryLimit && page.lastEntry) {
    // Every entry read was delivered whole; more entries wait.
    const { xid, seq, at } = page.lastEntry
    next = { ...state, position: { xid, seq, sub: WHOLE_ENTRY }, positionAt: at, seen }
  } else {
    // Every entry below the watermark (and below `before`) was delivered: the walk stands at it.
    const end = Math.min(page.watermark, before ?? Infinity)
    next = end > from.xid ? { ...state, position: { xid: end, seq: 0, sub: 0 }, positionAt: page.readAt, seen } : { ...state, position: from, seen }
    endOfStream = true
  }
  return { items: rows.map(itemOf), state: next, endOfStream, endTime: Math.floor(page.readAt) }
}

/** A page of a plain walk: the backfills it owes first, then conversations by updated_at up to end_time. */
async function plainPage(deps: ChangesDeps, walk: PlainChangesCursorState, accounts: number[], endTime: number): Promise<Served> {
  const { connection } = deps
  const { state, backfill } = pendingBackfill(walk, accounts)
  const limit = state.pageSize
  const scope = backfill ? backfillScope(state, backfill) : plainScope(accounts, state.startTime, endTime)
  // One row more than the page: whether the walk goes on.
  const found = await repository.findPageIds(connection, scope, { sortDirection: 'asc', limit: limit + 1, offset: 0, after: backfill ? backfill.after : state.after })
  const ids = found.ids.slice(0, limit)
  const more = found.ids.length > limit
  const last: PageBoundary | undefined = ids.length > 0 ? found.boundaries[ids.length - 1] : undefined
  const [records, labels] = await Promise.all([repository.findConversations(connection, ids), repository.findLabels(connection, ids)])
  const next: PlainChangesCursorState = backfill ? backfilled(state, more ? last : undefined) : { ...state, after: last ?? state.after }
  return { items: records.map((record) => toChangeItem(record, labels.get(record.id) ?? [])), state: next, endOfStream: !backfill && !more, endTime }
}

function plainScope(accountIds: number[], startTime: number, endTime: number): repository.ConversationScope {
  return { accountIds, timeColumn: 'updated_at', createdFrom: new Date(startTime * 1000), createdBefore: new Date(endTime * 1000) }
}

/** A streamed download of the feed: its range for the file name, the cursor that resumes right after it, and its batches. */
export interface ChangesExport {
  readonly startTime: number
  readonly endTime: number
  readonly resumeCursor: string
  readonly exact: boolean
  readonly batches: AsyncGenerator<ChangeItem[]>
}

/** How long a download waits for a replica to catch up with where it must end, between tries. */
const CATCH_UP_MS = [500, 1000, 2000, 4000] as const

/**
 * The feed from where the request starts to what it can serve now, for a streamed download, and
 * the cursor that resumes right after it. Every batch reads the allowlist again
 * (allowlist-watch.ts): a removed account's rows stop (the next page of the walk says it is gone),
 * a download of that account alone is cut (AllowlistRevokedError), one of several goes on and tells
 * `onNarrowed` which it lost. An account added meanwhile is not in the download: the walk's next
 * page announces it and brings its rows.
 * @throws as readChanges.
 */
export async function openChangesExport(
  deps: ChangesDeps,
  query: ChangesQuery,
  given: ReadonlySet<string> = new Set(Object.keys(query)),
  { allowlist, onNarrowed }: { readonly allowlist?: AllowlistRead; readonly onNarrowed?: (removed: readonly number[]) => void } = {},
): Promise<ChangesExport> {
  const asked = resolveRequest(deps, query, given)
  const accountId = asked.kind === 'start' ? asked.accountId : asked.state.accountId
  const [accounts, mode] = await Promise.all([allowedAccounts(deps, accountId ?? undefined, allowlist), deps.capture.mode()])
  const plainEnd = plainEndTime(deps, await clockOf(deps))
  const walk = walkOf(deps, asked, accounts, mode.exact, plainEnd)
  const startTime = walk.state.startTime
  const allowed = watchAllowlist(() => allowedAccounts(deps, accountId ?? undefined), accounts, { onNarrowed })
  if (walk.state.mode === 'exact') {
    const state = walk.state
    // The download ends at the log's watermark now; the next walk starts there.
    const snapshot = await readSnapshot(deps.connection)
    const end = snapshot.watermark
    const resume: ExactChangesCursorState = {
      ...state,
      backfills: [],
      position: { xid: Math.max(end, state.position?.xid ?? 0), seq: 0, sub: 0 },
      positionAt: snapshot.readAt,
      seen: Math.max(state.seen, end),
    }
    const retentionDays = retentionOf(deps, mode.retentionDays)
    async function* batches(): AsyncGenerator<ChangeItem[]> {
      let current: ExactChangesCursorState = { ...state, pageSize: EXPORT_PAGE }
      for (let waits = 0; ; ) {
        // The allowlist as it is now (at most ALLOWLIST_RECHECK_MS old), at every page: an account removed meanwhile delivers nothing more.
        const served = await exactPage(deps, current, [...(await allowed())], retentionDays, end)
        const moved = served.state !== current
        if (!moved) {
          // A replica behind where this download must end: wait for it, a while.
          const pause = CATCH_UP_MS[waits++]
          if (pause === undefined) throw new Error('the database replica stayed behind the end of this download')
          await Bun.sleep(pause)
          continue
        }
        waits = 0
        current = served.state as ExactChangesCursorState
        if (served.items.length > 0) yield served.items
        if (served.endOfStream) return
      }
    }
    return { startTime, endTime: Math.floor(snapshot.readAt), exact: true, resumeCursor: encodeChangesCursor(resume, deps.cursorSecret), batches: batches() }
  }
  // Plain: the backfills owed, then everything to end_time; the next walk starts at end_time itself (id 0 is before every row).
  const state = walk.state
  const resume: PlainChangesCursorState = { ...state, backfills: [], after: { sortAt: toDbTimestamp(new Date(plainEnd * 1000)), id: 0 } }
  const { backfills } = pendingBackfill(state, accounts).state
  async function* batches(): AsyncGenerator<ChangeItem[]> {
    // Each part starts with the accounts the allowlist still names.
    for (const backfill of backfills) {
      const scope = backfillScope(state, backfill)
      yield* streamBatches(deps.connection, { ...scope, accountIds: stillAllowed(scope.accountIds, await allowed()) }, 'asc', backfill.after, toChangeItem, allowed)
    }
    yield* streamBatches(deps.connection, plainScope([...(await allowed())], startTime, plainEnd), 'asc', state.after, toChangeItem, allowed)
  }
  return { startTime, endTime: plainEnd, exact: false, resumeCursor: encodeChangesCursor(resume, deps.cursorSecret), batches: batches() }
}

/** Rows a download reads at a time in exact mode (a page each). */
const EXPORT_PAGE = 1000
