// An export in flight follows the allowlist (issue #26, item 4). Account 3 removed 1.6 s into an
// all-accounts export used to go on being exported to the end, through every statement restart.
// Now each batch of an export, and of a changes-feed download, reads VBET_ACCOUNT_IDS again (at
// most ALLOWLIST_RECHECK_MS old): a removed account's rows stop, its statement is not resumed, and
// an export of that one account is cut, so the client's read fails, and logged with its request id.
// Deterministic, not timed: a first batch is read, the allowlist changed, and the rest is pulled
// only after the recheck window has passed; the batch the stream had read ahead by then may still
// hold the removed account (documented), none after it. An export of several accounts that goes on
// without the removed one ends with a line that names it (its file lacks that account's later rows).
import { afterEach, describe, expect, test } from 'bun:test'
import { createHandler, type LogLine } from '../../src/http.ts'
import { ALLOWLIST_RECHECK_MS } from '../../src/kpi/allowlist-watch.ts'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'
import { buildAccessToken, buildConversation, buildUser, dbTime, seededFaker, type Row } from '../../fixtures/builders.ts'
import { installationConfigRow, serializedAccountIds, setVbetAccountIdsConfig, type DataSet } from '../../fixtures/insert.ts'

localOnly('exports follow the allowlist: needs its own data set')

const ACCOUNTS = [3, 5, 7] as const
/** 2,500 conversations an account, interleaved: an export reads 1,000 rows a batch, so 8 batches, 3 of account 7 alone. */
const PER_ACCOUNT = 2500
const REMOVED = 7
/** How an export that lost an account on its way, and went on with the others, ends in the log. */
const NARROWED = 'export complete without the accounts removed from the VBET allowlist on its way'

function dataSet(): DataSet {
  const faker = seededFaker(26)
  const conversations: Row<'conversations'>[] = []
  const start = Date.UTC(2025, 0, 1)
  for (let id = 1; id <= PER_ACCOUNT * ACCOUNTS.length; id++) {
    const at = dbTime(new Date(start + id * 1000))
    conversations.push(buildConversation(faker, { id, account_id: ACCOUNTS[id % ACCOUNTS.length]!, display_id: id, created_at: at }))
  }
  return {
    users: [buildUser(faker, { id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' })],
    access_tokens: [buildAccessToken(faker, { id: 1, owner_id: 1, token: TOKENS.kpiTracker })],
    accounts: ACCOUNTS.map((id) => ({ id, name: `Account ${id}` })),
    conversations,
    installation_configs: [installationConfigRow(serializedAccountIds(ACCOUNTS.join(',')))],
  }
}

const IDS = Array.from({ length: PER_ACCOUNT * ACCOUNTS.length }, (_, index) => index + 1)
const accountOf = (id: number) => ACCOUNTS[id % ACCOUNTS.length]!

/** An NDJSON chunk's items' ids and accounts. */
function itemsOf(chunk: Uint8Array): Array<{ id: number; account_id: number }> {
  return new TextDecoder()
    .decode(chunk)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] an export in flight follows the allowlist`, () => {
    const ctx = useDatabase(dialect, dataSet, { timeout: 60_000 })
    afterEach(() => setVbetAccountIdsConfig(ctx.connection, serializedAccountIds(ACCOUNTS.join(','))))

    /**
     * Starts `target` through the HTTP handler, reads its first chunk, removes account 7 from the
     * allowlist, waits out the recheck window, then reads the rest: the chunks (each a batch) and
     * how the stream ended.
     */
    async function exportWhileRemoving(target: string, requestId: string) {
      const lines: LogLine[] = []
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit: 0 }), log: (line) => lines.push(line) })
      const response = await handle(new Request(`http://localhost${target}`, { headers: { api_access_token: TOKENS.kpiTracker, 'x-request-id': requestId } }))
      expect(response.status).toBe(200)
      const reader = response.body!.getReader()
      const chunks: Array<Array<{ id: number; account_id: number }>> = []
      const first = await reader.read()
      expect(first.done).toBe(false)
      chunks.push(itemsOf(first.value!))
      await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds('3,5'))
      await Bun.sleep(ALLOWLIST_RECHECK_MS + 100)
      let failure: unknown
      try {
        for (;;) {
          const next = await reader.read()
          if (next.done) break
          chunks.push(itemsOf(next.value))
        }
      } catch (error) {
        failure = error
      }
      // The export's own line of how it ended comes when the stream settles.
      const ended = lines.find((line) => line.request_id === requestId && String(line.message).startsWith('export '))
      return { chunks, failure, ended }
    }

    /** All rows but the removed account's, each once, in order; the removed account's only in the first two chunks. */
    function expectRemovedAccountStops(chunks: ReadonlyArray<ReadonlyArray<{ id: number; account_id: number }>>) {
      const items = chunks.flat()
      for (const item of items) expect(item.account_id).toBe(accountOf(item.id))
      expect(items.filter((item) => item.account_id !== REMOVED).map((item) => item.id)).toEqual(IDS.filter((id) => accountOf(id) !== REMOVED))
      // The first chunk was read before the change, the second may have been read ahead by then.
      const late = chunks.slice(2).map((chunk, index) => ({ chunk: index + 2, removedRows: chunk.filter((item) => item.account_id === REMOVED).length }))
      expect(late.filter((chunk) => chunk.removedRows > 0)).toEqual([])
      expect(chunks.length).toBeGreaterThan(2)
    }

    test('an all-accounts export: the removed account\'s rows stop within a batch, every other row comes once, and it ends whole', async () => {
      const { chunks, failure, ended } = await exportWhileRemoving('/api/v1/kpi/conversations?format=ndjson&since=0', 'all-accounts')
      expect(failure).toBeUndefined()
      expectRemovedAccountStops(chunks)
      // It ends whole, but without the rest of account 7: the operator's log says so, and which account.
      expect(ended).toMatchObject({ level: 'warn', message: NARROWED, request_id: 'all-accounts', rows: chunks.flat().length, accounts_removed: [REMOVED] })
    })

    test('an all-accounts export that no account leaves ends as an export complete, naming none removed', async () => {
      const lines: LogLine[] = []
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit: 0 }), log: (line) => lines.push(line) })
      const response = await handle(new Request('http://localhost/api/v1/kpi/conversations?format=ndjson&since=0', { headers: { api_access_token: TOKENS.kpiTracker, 'x-request-id': 'untouched' } }))
      expect((await response.text()).split('\n').filter(Boolean)).toHaveLength(IDS.length)
      const ended = lines.find((line) => line.request_id === 'untouched' && String(line.message).startsWith('export '))
      expect(ended).toMatchObject({ level: 'info', message: 'export complete', rows: IDS.length })
      expect(ended).not.toHaveProperty('accounts_removed')
    })

    test('an export of the removed account alone is cut: the client\'s read fails, and the log says why, with the request id', async () => {
      const { chunks, failure, ended } = await exportWhileRemoving(`/api/v1/kpi/conversations?format=ndjson&since=0&account_id=${REMOVED}`, 'one-account')
      expect(failure).toBeDefined()
      const items = chunks.flat()
      expect(items.every((item) => item.account_id === REMOVED)).toBe(true)
      expect(items.length).toBeLessThanOrEqual(2000)
      expect(ended).toMatchObject({
        level: 'warn',
        message: 'export cut: its account was removed from the VBET allowlist',
        request_id: 'one-account',
        rows: items.length,
      })
    })

    test('a changes-feed download (plain mode): the removed account\'s rows stop within a batch, every other row comes once', async () => {
      const { chunks, failure, ended } = await exportWhileRemoving('/api/v1/kpi/conversations/changes?format=ndjson&start_time=0', 'feed-download')
      expect(failure).toBeUndefined()
      expectRemovedAccountStops(chunks)
      expect(ended).toMatchObject({ level: 'warn', message: NARROWED, request_id: 'feed-download', accounts_removed: [REMOVED] })
    })

    test('a changes-feed download of the removed account alone is cut, and logged so', async () => {
      const { chunks, failure, ended } = await exportWhileRemoving(`/api/v1/kpi/conversations/changes?format=ndjson&start_time=0&account_id=${REMOVED}`, 'feed-one')
      expect(failure).toBeDefined()
      expect(chunks.flat().length).toBeLessThanOrEqual(2000)
      expect(ended).toMatchObject({ level: 'warn', message: 'export cut: its account was removed from the VBET allowlist', request_id: 'feed-one' })
    })
  })
}
