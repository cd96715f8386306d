// The endpoint's use case: who may call, which accounts and times a request reads, and the page it
// gets. Reads through the repository, decides through the rules; knows nothing of HTTP.
import type { Connection } from '../db/dialect.ts'
import { tokenKey, type TokenReading } from './access-token.ts'
import { ServiceBusyError, UnauthorizedError, ValidationError } from '../errors.ts'
import type { SharedCache } from '../state/shared-cache.ts'
import type { ConversationsPage, ConversationsQuery } from './conversations.model.ts'
import * as repository from './conversations.repository.ts'
import type { PageBoundary } from './conversations.repository.ts'
import { decodeCursor, encodeCursor, type CursorQuery } from './cursor.ts'
import { watchAllowlist, type AllowlistWatch } from './allowlist-watch.ts'
import {
  clampPage,
  clampPageSize,
  createdRange,
  defaultSince,
  defaultUntil,
  isKpiTracker,
  parseVbetAccountIds,
  scopeAccountIds,
  toConversationItem,
  type ConversationItem,
  type ConversationRecord,
  type SortDirection,
  type TokenOwner,
} from './conversations.rules.ts'

export interface KpiDeps {
  readonly connection: Connection
  readonly kpiTrackerEmail: string
  /** The clock the defaults of since/until are taken from. */
  readonly now: () => Date
  /**
   * items_count by scope, reused for a few seconds: a client paging through a range asks the same
   * count for every page, and on a large range the count costs more than the page.
   */
  readonly counts: SharedCache<number>
  /** Token owners by token key, found or not, for a few seconds: a flood of bad tokens does not flood the database. */
  readonly tokenOwners: SharedCache<TokenOwner | undefined>
  /**
   * Where each page served ended, for a minute: the next page of the same query then starts right
   * after it (keyset) instead of skipping `offset` rows again. An export that pages through a range
   * reads each row once, and neither repeats nor skips a row when conversations are added meanwhile.
   */
  readonly boundaries: SharedCache<PageBoundary>
  /** Signs cursors: the same on every instance that serves one client's walk. */
  readonly cursorSecret: string
  /** Told when a streamed export fails after its status was sent (the stream is cut). */
  readonly onStreamError?: (error: unknown) => void
}

/**
 * The allowlist's stored value as a request read it while it authenticated (with the token's owner,
 * in one statement): its scope then needs no statement of its own. Absent when the token's owner
 * came from the cache: the allowlist is then read on its own, as on every request.
 */
export interface AllowlistRead {
  readonly value: unknown
}

/**
 * Lets through only the KPI tracker's token. A token longer than any real one, or two different
 * tokens, never reach the cache or the database. A token the cache does not know is read with the
 * allowlist as it is now, in one statement: that read is returned, for this request's scope.
 * @throws {UnauthorizedError} without a token, with an unusable or unknown one, or with anyone else's.
 */
export async function authenticate(deps: KpiDeps, reading: TokenReading): Promise<AllowlistRead | undefined> {
  if (reading.kind === 'missing') throw new UnauthorizedError('Missing access token: send it in the api_access_token header')
  if (reading.kind === 'unusable') {
    throw new UnauthorizedError(reading.reason === 'ambiguous' ? 'Send one access token: this request carries two different ones' : 'Invalid Access Token')
  }
  const { token } = reading
  let allowlist: AllowlistRead | undefined
  const owner = await deps.tokenOwners.get(tokenKey(token), async () => {
    const read = await repository.findTokenOwnerAndAllowlist(deps.connection, token)
    allowlist = { value: read.allowlist }
    return read.owner
  })
  if (owner === undefined) throw new UnauthorizedError('Invalid Access Token')
  if (!isKpiTracker(owner, deps.kpiTrackerEmail)) {
    throw new UnauthorizedError('This access token may not read KPI conversations')
  }
  return allowlist
}

/** Where a page starts: a page number (offset), or a cursor walk's position (keyset). */
interface Start {
  readonly since: number
  readonly until: number
  readonly accountId: number | undefined
  readonly sortDirection: SortDirection
  readonly pageSize: number
  readonly page: number
  readonly cursor?: { readonly query: CursorQuery; readonly after: PageBoundary | undefined }
}

const CURSOR_QUERY_PARAMETERS = ['account_id', 'since', 'until', 'sort_direction', 'page_size'] as const

/**
 * The request's query, resolved: defaults applied, or, with a cursor, the query of the walk.
 * @throws {ValidationError} for a cursor this service did not issue, or parameters that contradict it.
 */
function resolveStart(deps: KpiDeps, query: ConversationsQuery, given: ReadonlySet<string>): Start {
  const now = deps.now()
  const fresh: CursorQuery = {
    accountId: query.account_id ?? null,
    since: query.since ?? defaultSince(now),
    until: query.until ?? defaultUntil(now),
    sortDirection: query.sort_direction ?? 'asc',
    pageSize: clampPageSize(query.page_size),
  }
  if (query.cursor === undefined) {
    return { ...fresh, accountId: fresh.accountId ?? undefined, page: clampPage(query.page) }
  }
  if (query.cursor === '') return { ...fresh, accountId: fresh.accountId ?? undefined, page: 1, cursor: { query: fresh, after: undefined } }
  const state = decodeCursor(query.cursor, deps.cursorSecret)
  const asked: Record<(typeof CURSOR_QUERY_PARAMETERS)[number], unknown> = {
    account_id: query.account_id,
    since: query.since,
    until: query.until,
    sort_direction: query.sort_direction,
    page_size: query.page_size === undefined ? undefined : clampPageSize(query.page_size),
  }
  const kept: Record<(typeof CURSOR_QUERY_PARAMETERS)[number], unknown> = {
    account_id: state.query.accountId ?? undefined,
    since: state.query.since,
    until: state.query.until,
    sort_direction: state.query.sortDirection,
    page_size: state.query.pageSize,
  }
  const changed = CURSOR_QUERY_PARAMETERS.filter((name) => given.has(name) && asked[name] !== kept[name])
  if (changed.length > 0) {
    throw new ValidationError(`cursor belongs to another query: ${changed.join(', ')} must stay as the walk began (or be left out)`)
  }
  const q = state.query
  return { ...q, accountId: q.accountId ?? undefined, page: state.page, cursor: { query: q, after: state.after } }
}

/**
 * The accounts and times a request reads: the allowlist as it is now (read on every request), and
 * the resolved range.
 * @throws {UnauthorizedError} when the requested account is not in the VBET allowlist.
 */
async function scopeOf(deps: KpiDeps, start: Start, read?: AllowlistRead): Promise<repository.ConversationScope> {
  return { accountIds: await allowedAccounts(deps, start.accountId, read), ...createdRange(start.since, start.until) }
}

/**
 * The accounts a request may read: the VBET allowlist as it is now (read on every request: by
 * `read`, this request's own read of it while it authenticated, else here), or the one `accountId`
 * asked for.
 * @throws {UnauthorizedError} when `accountId` is not in the allowlist.
 */
export async function allowedAccounts(deps: Pick<KpiDeps, 'connection'>, accountId: number | undefined, read?: AllowlistRead): Promise<number[]> {
  const stored = read ? read.value : await repository.findVbetAccountIdsConfig(deps.connection)
  return scopeAccountIds(parseVbetAccountIds(stored), accountId)
}

/**
 * One page of the VBET accounts' conversations (or of one of them) in a time range, by page
 * number, or by cursor when the request sends one. `given` names the parameters the request
 * itself sent (the schema fills in defaults); `allowlist`, this request's read of it while it
 * authenticated, when it made one.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist.
 * @throws {ValidationError} for a cursor this service did not issue or that belongs to another query.
 */
export async function readConversationsPage(
  deps: KpiDeps,
  query: ConversationsQuery,
  given: ReadonlySet<string> = new Set(Object.keys(query)),
  allowlist?: AllowlistRead,
): Promise<ConversationsPage> {
  const { connection } = deps
  const start = resolveStart(deps, query, given)
  const scope = await scopeOf(deps, start, allowlist)
  const { pageSize, page, sortDirection, cursor } = start

  const scopeKey = countKey(scope)
  const boundaryKey = (n: number) => `${scopeKey}|${sortDirection}|${pageSize}|${n}`
  // A cursor says where its page starts; a page number may find it in the boundaries served lately
  // (sealed: only one this deployment stored for this very query and page; and it must lie in the
  // range, or the page is found by its offset as if there were none).
  const kept = !cursor && page > 1 ? await deps.boundaries.peek(boundaryKey(page - 1)) : undefined
  const after = cursor ? cursor.after : kept && liesIn(kept, scope) ? kept : undefined
  // A cursor page reads one row more, to know whether there is a next page.
  const window = { sortDirection, limit: cursor ? pageSize + 1 : pageSize, offset: (page - 1) * pageSize, after }
  // One stage of two statements at once on two connections (PostgreSQL; SQLite serialises them):
  // the count, and the page whole (its ids, rows and labels in one statement).
  const [itemsCount, found] = await Promise.all([
    deps.counts.get(scopeKey, () => repository.countConversations(connection, scope)),
    repository.findPage(connection, scope, window),
  ])
  const rows = found.slice(0, pageSize)
  const last = cursor && found.length > pageSize ? found[pageSize - 1]!.boundary : found.at(-1)?.boundary
  if (!cursor && last && rows.length === pageSize) await deps.boundaries.set(boundaryKey(page), last)
  const meta: ConversationsPage['meta'] = { items_count: itemsCount, current_page: page, page_size: pageSize }
  if (cursor) {
    meta.next_cursor =
      found.length > pageSize && last ? encodeCursor({ query: cursor.query, page: page + 1, after: last }, deps.cursorSecret) : null
  }
  return { meta, payload: rows.map((row) => toConversationItem(row.record, row.labels)) }
}

/** A page end of `scope`'s rows: a timestamp in its range and a row id (a defect, not a client, could break this). */
function liesIn(boundary: PageBoundary, scope: repository.ConversationScope): boolean {
  if (typeof boundary?.sortAt !== 'string' || !Number.isSafeInteger(boundary.id) || boundary.id < 1) return false
  const at = Date.parse(`${boundary.sortAt.replace(' ', 'T').slice(0, 23)}Z`)
  return at >= scope.createdFrom.getTime() && at < scope.createdBefore.getTime()
}

/** The count cache's key of a scope: its accounts and range (the metrics share it). */
export function countKey(scope: repository.ConversationScope): string {
  return `${scope.accountIds.join(',')}|${scope.createdFrom.getTime()}|${scope.createdBefore.getTime()}`
}

/** How many rows an export reads at a time. */
const EXPORT_BATCH = 1000

/**
 * Pauses before an export reads on after the database was unavailable (a standby's conflicts, a
 * restart, a pooler's reconnect, a statement timeout): a new streaming statement, or the batch read
 * again, resumes exactly after the last row sent. After the last pause without a row, the export is cut.
 */
const EXPORT_BATCH_RETRY_MS = [500, 1000, 2000, 4000] as const

/**
 * Every conversation of the request's range, for a streamed export: the same auth, allowlist and
 * filters as a page, all pages at once, read in keyset batches as they are consumed. page,
 * page_size and cursor are not used. The allowlist is checked before the first row, and again at
 * every batch (allowlist-watch.ts): a removed account's rows stop, and an export of that account
 * alone is cut (AllowlistRevokedError), one of several is told to `onNarrowed`; an account added
 * meanwhile is not taken in.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist.
 */
export async function openExport(
  deps: KpiDeps,
  query: ConversationsQuery,
  allowlist?: AllowlistRead,
  onNarrowed?: (removed: readonly number[]) => void,
): Promise<{ since: number; until: number; batches: AsyncGenerator<ConversationItem[]> }> {
  const start = resolveStart(deps, { ...query, cursor: undefined, page: undefined, page_size: undefined }, new Set())
  const scope = await scopeOf(deps, start, allowlist)
  const allowed = watchAllowlist(() => allowedAccounts(deps, start.accountId), scope.accountIds, { onNarrowed })
  const batches = streamBatches(deps.connection, scope, start.sortDirection, undefined, (record, labels) => toConversationItem(record, labels), allowed)
  return { since: start.since, until: start.until, batches }
}

/**
 * Every row of `scope` after `from`, in batches of EXPORT_BATCH as they are consumed: streamed
 * from one statement where the dialect streams (PostgreSQL), else read in keyset batches (SQLite).
 * With `allowed`, each batch is checked against it before it is handed out: the rows of an account
 * it no longer names are dropped, and what is read next (a new statement, the next keyset batch)
 * no longer reads that account; once none is left, the batches end.
 * A streamed export holds a connection while its client reads: it takes a place in the pool's
 * export share first (given back when the batches end, fail or are returned, started or not), so
 * that pages always have the rest of the pool.
 * @throws {ServiceBusyError} when the export share is in use (before any answer is sent).
 */
export function streamBatches<Item>(
  connection: Connection,
  scope: repository.ConversationScope,
  sortDirection: SortDirection,
  from: PageBoundary | undefined,
  toItem: (record: ConversationRecord, labels: readonly string[]) => Item,
  allowed?: AllowlistWatch,
): AsyncGenerator<Item[]> {
  const share = connection.dialect.streaming ? connection.exportShare : undefined
  const release = share?.tryTake()
  if (share && !release) {
    throw new ServiceBusyError('The service is busy: the exports running now hold every connection exports may use; try again shortly', {
      retryAfterSeconds: 5,
      cause: new Error(`the export share of the pool (${share.size} connections, DB_EXPORT_CONNECTIONS) is in use: an export was refused`),
    })
  }
  const stop = new AbortController()
  const batches = connection.dialect.streaming
    ? streamedBatches(connection, scope, sortDirection, from, toItem, stop.signal, allowed)
    : keysetBatches(connection, scope, sortDirection, from, toItem, allowed)
  return release ? holding(batches, release, () => stop.abort()) : batches
}

/**
 * `batches`, calling `release` once they end, fail or are returned. By hand, not an async
 * generator around them: returning a generator that never started skips its `finally`, and HEAD
 * (or a client gone before the first read) returns batches never started. A return first calls
 * `stop`: a generator busy (reading, or pausing before it resumes a statement) only takes a return
 * at its next yield, and a stalled client's export may be restarting its statement (the statement
 * timeout counts while nobody reads) when it is cut.
 */
function holding<T>(batches: AsyncGenerator<T>, release: () => void, stop: () => void): AsyncGenerator<T> {
  const wrapper: AsyncGenerator<T> = {
    async next() {
      try {
        const result = await batches.next()
        if (result.done) release()
        return result
      } catch (error) {
        release()
        throw error
      }
    },
    async return(value) {
      stop()
      try {
        return await batches.return(value)
      } finally {
        release()
      }
    },
    async throw(error) {
      stop()
      try {
        return await batches.throw(error)
      } finally {
        release()
      }
    },
    [Symbol.asyncIterator]: () => wrapper,
    [Symbol.asyncDispose]: async () => void (await wrapper.return(undefined)),
  }
  return wrapper
}

/**
 * One statement for the whole range (repository.streamConversations). When the database cancels it
 * or goes away midway (statement_timeout, which counts while the client reads; a standby's
 * recovery conflict; a restart), a new statement resumes right after the last row handed out:
 * nothing repeated, nothing skipped. After EXPORT_BATCH_RETRY_MS of failures without a row, the
 * export is cut. When `allowed` drops an account, the statement ends after the batch at hand
 * (without that account's rows) and a new one resumes after it for the accounts left.
 */
async function* streamedBatches<Item>(
  connection: Connection,
  scope: repository.ConversationScope,
  sortDirection: SortDirection,
  from: PageBoundary | undefined,
  toItem: (record: ConversationRecord, labels: readonly string[]) => Item,
  stopped: AbortSignal,
  allowed: AllowlistWatch | undefined,
): AsyncGenerator<Item[]> {
  let after = from
  let accounts = scope.accountIds
  for (let failures = 0; accounts.length > 0; ) {
    const chunks = repository.streamConversations(connection, { ...scope, accountIds: accounts }, sortDirection, after, EXPORT_BATCH)
    // One chunk ahead: the database sends chunk n + 1 while chunk n is written to the client. A
    // client that goes away leaves it unawaited: its failure must not go unhandled.
    const ahead = () => {
      const next = chunks.next()
      next.catch(() => {})
      return next
    }
    try {
      for (let pending = ahead(); ; ) {
        const next = await unlessStopped(pending, stopped)
        if (next.done) return
        const allowedNow = allowed ? await unlessStopped(allowed(), stopped) : undefined
        const still = allowedNow ? stillAllowed(accounts, allowedNow) : accounts
        const narrowed = still.length < accounts.length
        // A statement of an account removed is not read on: the next one, if any is left, starts after this batch.
        if (!narrowed) pending = ahead()
        const rows = allowedNow && narrowed ? next.value.filter(({ record }) => allowedNow.has(record.accountId)) : next.value
        yield rows.map(({ record, labels }) => toItem(record, labels))
        // Handed out (or dropped): a resume starts after it.
        after = next.value.at(-1)!.boundary
        failures = 0
        if (narrowed) {
          accounts = still
          break
        }
      }
    } catch (error) {
      const pause = EXPORT_BATCH_RETRY_MS[failures++]
      if (stopped.aborted || pause === undefined || !connection.dialect.isUnavailable(error)) throw error
      await unlessStopped(Bun.sleep(pause), stopped)
    } finally {
      // Ends the statement (and gives its connection back) when the client left, it failed, or its accounts narrowed.
      await chunks.return(undefined).catch(() => {})
    }
  }
}

/** Those of `accounts` that `allowed` still names (`accounts` itself when it names them all). */
export function stillAllowed(accounts: readonly number[], allowed: ReadonlySet<number>): readonly number[] {
  const still = accounts.filter((id) => allowed.has(id))
  return still.length === accounts.length ? accounts : still
}

/** `promise`, or a rejection as soon as `signal` aborts (what it waited for then settles unawaited). */
function unlessStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * Keyset batches of three statements each (ids, rows, labels), read one batch ahead as they are
 * consumed; a batch is read again after the database was unavailable (EXPORT_BATCH_RETRY_MS).
 * When `allowed` drops an account, its rows are left out of the batch at hand and the batches
 * after it no longer read it.
 */
function keysetBatches<Item>(
  connection: Connection,
  scope: repository.ConversationScope,
  sortDirection: SortDirection,
  from: PageBoundary | undefined,
  toItem: (record: ConversationRecord, labels: readonly string[]) => Item,
  allowed: AllowlistWatch | undefined,
): AsyncGenerator<Item[]> {
  let accounts = scope.accountIds
  const readBatch = async (after: PageBoundary | undefined) => {
    const { ids, last } = await repository.findPageIds(connection, { ...scope, accountIds: accounts }, { sortDirection, limit: EXPORT_BATCH, offset: 0, after })
    // The next batch's ids are known to start after `last`: ask for them while this batch is read.
    const next = ids.length === EXPORT_BATCH && last ? last : undefined
    const [records, labels] = await Promise.all([repository.findConversations(connection, ids), repository.findLabels(connection, ids)])
    return { records, labels, next }
  }
  const retried = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let failures = 0; ; failures++) {
      try {
        return await attempt()
      } catch (error) {
        const pause = EXPORT_BATCH_RETRY_MS[failures]
        if (pause === undefined || !connection.dialect.isUnavailable(error)) throw error
        await Bun.sleep(pause)
      }
    }
  }
  const read = (after: PageBoundary | undefined) => retried(() => readBatch(after))
  async function* batches(): AsyncGenerator<Item[]> {
    // One batch ahead: the database reads batch n + 1 while batch n is written to the client.
    const ahead = (after: PageBoundary | undefined) => {
      const promise = read(after)
      // A client that goes away leaves the batch read ahead unawaited: its failure must not go unhandled.
      promise.catch(() => {})
      return promise
    }
    let pending: ReturnType<typeof read> | undefined = accounts.length > 0 ? ahead(from) : undefined
    while (pending) {
      const batch: Awaited<ReturnType<typeof read>> = await pending
      const allowedNow = allowed ? await retried(allowed) : undefined
      const still = allowedNow ? stillAllowed(accounts, allowedNow) : accounts
      // Read with the accounts before: an account removed meanwhile is left out of it.
      const records = allowedNow && still.length < accounts.length ? batch.records.filter((record) => allowedNow.has(record.accountId)) : batch.records
      accounts = still
      pending = batch.next && accounts.length > 0 ? ahead(batch.next) : undefined
      yield records.map((record) => toItem(record, batch.labels.get(record.id) ?? []))
    }
  }
  return batches()
}
