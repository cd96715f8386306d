// The endpoint's use case: who may call, which accounts and times a request reads, and the page it
// gets. Reads through the repository, decides through the rules; knows nothing of HTTP.
import type { Connection } from '../db/dialect.ts'
import { UnauthorizedError } from '../errors.ts'
import type { TtlCache } from '../ttl-cache.ts'
import type { ConversationsPage, ConversationsQuery } from './conversations.model.ts'
import * as repository from './conversations.repository.ts'
import type { PageBoundary } from './conversations.repository.ts'
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
  readonly counts: TtlCache<string, number>
  /** Token owners, found or not, for a few seconds: a flood of bad tokens does not flood the database. */
  readonly tokenOwners: TtlCache<string, TokenOwner | undefined>
  /**
   * Where each page served ended, for a minute: the next page of the same query then starts right
   * after it (keyset) instead of skipping `offset` rows again. An export that pages through a range
   * reads each row once, and neither repeats nor skips a row when conversations are added meanwhile.
   */
  readonly boundaries: TtlCache<string, PageBoundary>
}

/**
 * Lets through only the KPI tracker's token.
 * @throws {UnauthorizedError} without a token, with an unknown one, or with anyone else's.
 */
export async function authenticate(deps: KpiDeps, token: string | null): Promise<void> {
  if (token === null || token.trim() === '') {
    throw new UnauthorizedError('Missing access token: send it in the api_access_token header')
  }
  const owner = await deps.tokenOwners.get(token, () => repository.findTokenOwner(deps.connection, token))
  if (owner === undefined) throw new UnauthorizedError('Invalid Access Token')
  if (!isKpiTracker(owner, deps.kpiTrackerEmail)) {
    throw new UnauthorizedError('This access token may not read KPI conversations')
  }
}

/**
 * One page of the VBET accounts' conversations (or of one of them) in a time range.
 * @throws {UnauthorizedError} when `account_id` is not in the VBET allowlist.
 */
export async function readConversationsPage(deps: KpiDeps, query: ConversationsQuery): Promise<ConversationsPage> {
  const { connection } = deps
  const vbetAccountIds = parseVbetAccountIds(await repository.findVbetAccountIdsConfig(connection))
  const accountIds = scopeAccountIds(vbetAccountIds, query.account_id)
  const now = deps.now()
  const scope = {
    accountIds,
    ...createdRange(query.since ?? defaultSince(now), query.until ?? defaultUntil(now)),
  }
  const pageSize = clampPageSize(query.page_size)
  const page = clampPage(query.page)
  const window = { sortDirection: query.sort_direction ?? 'asc', limit: pageSize, offset: (page - 1) * pageSize } as const

  const scopeKey = `${accountIds.join(',')}|${scope.createdFrom.getTime()}|${scope.createdBefore.getTime()}`
  const boundaryKey = (n: number) => `${scopeKey}|${window.sortDirection}|${pageSize}|${n}`
  const after = page > 1 ? deps.boundaries.peek(boundaryKey(page - 1)) : undefined
  // Two stages of two statements each, each pair at once on two connections (PostgreSQL; SQLite
  // serialises them): the count and the page's ids, then the page's rows and their labels.
  const [itemsCount, { ids, last }] = await Promise.all([
    deps.counts.get(scopeKey, () => repository.countConversations(connection, scope)),
    repository.findPageIds(connection, scope, { ...window, after }),
  ])
  if (last && ids.length === pageSize) deps.boundaries.set(boundaryKey(page), last)
  const [records, labels] = await Promise.all([repository.findConversations(connection, ids), repository.findLabels(connection, ids)])
  return {
    meta: { items_count: itemsCount, current_page: page, page_size: pageSize },
    payload: records.map((record) => toConversationItem(record, labels.get(record.id) ?? [])),
  }
}
