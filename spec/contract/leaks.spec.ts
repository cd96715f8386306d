// Nothing leaks (OWASP API1): over random data sets (random allowlists, in every stored form, empty
// and malformed ones included) and random requests, no payload item belongs to an account outside
// the allowlist, no token but a User's with the configured email gets a 200, and a 401 body says
// nothing about the data.
import { afterAll, beforeAll, describe, test } from 'bun:test'
import fc from 'fast-check'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'
import { clearAll, insertDataSet, installationConfigRow, serializedAccountIds, type DataSet } from '../../fixtures/insert.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'

localOnly('leaks: random data sets and requests')

const RUNS = { sqlite: 150, postgres: 40 } as const
const ACCOUNTS = [1, 2, 3, 4, 5, 6]
const EMAIL = 'kpi_tracker@vbet.com'

interface World {
  /** What the allowlist really is (the oracle), and how it is stored. */
  readonly allowed: number[]
  readonly stored: string | null
  readonly owners: Array<{ token: string; ownerType: string; email: string | null; passes: boolean }>
  readonly conversations: Array<{ account: number; day: number }>
}

const storedAllowlist = fc.oneof(
  // Valid forms of a random subset: the subset is the oracle.
  fc.record({
    ids: fc.subarray(ACCOUNTS),
    form: fc.constantFrom('yaml', 'object', 'yaml-number', 'spaced'),
  }).map(({ ids, form }) => {
    if (ids.length === 0) return { allowed: [], stored: serializedAccountIds('') }
    if (form === 'yaml-number') return { allowed: [ids[0]!], stored: serializedAccountIds(ids[0]!) }
    if (form === 'object') return { allowed: ids, stored: serializedAccountIds(ids.join(','), 'object') }
    if (form === 'spaced') return { allowed: ids, stored: serializedAccountIds(` ${ids.join(' , ')} `) }
    return { allowed: ids, stored: serializedAccountIds(ids.join(',')) }
  }),
  // Absent, empty and malformed: nothing is allowed (and one bare mapping without `---`, read as such).
  fc.constantFrom<{ allowed: number[]; stored: string | null }>(
    { allowed: [], stored: null },
    { allowed: [], stored: '{}' },
    { allowed: [], stored: 'null' },
    { allowed: [], stored: '[1,2,3]' },
    { allowed: [], stored: serializedAccountIds('all') },
    { allowed: [], stored: serializedAccountIds('*') },
    { allowed: [], stored: serializedAccountIds('1-6') },
    { allowed: [], stored: JSON.stringify('--- {}\n') },
    { allowed: [1, 2], stored: JSON.stringify('value: 1,2') },
  ),
)

const owner = fc.record({
  ownerType: fc.constantFrom('User', 'User', 'User', 'AgentBot', 'PlatformApp'),
  email: fc.oneof(fc.constantFrom(EMAIL, EMAIL.toUpperCase(), ` ${EMAIL}`, `${EMAIL}\u00A0`, `\u212A${EMAIL.slice(1)}`, `x${EMAIL}`, `${EMAIL}.evil`, 'kpi_tracker@vbet.co'), fc.constant(null), fc.emailAddress()),
})

const world: fc.Arbitrary<World> = fc
  .record({
    allowlist: storedAllowlist,
    owners: fc.array(owner, { minLength: 1, maxLength: 5 }),
    conversations: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), day: fc.integer({ min: 0, max: 20 }) }), { maxLength: 25 }),
  })
  .map(({ allowlist, owners, conversations }) => ({
    allowed: [...allowlist.allowed],
    stored: allowlist.stored,
    owners: owners.map((o, index) => ({
      token: `token-${index}`,
      ownerType: o.ownerType,
      email: o.email,
      // The configured (lower-case) email, character by character, an upper-case ASCII letter allowed for its lower case.
      passes: o.ownerType === 'User' && o.email !== null && o.email.length === EMAIL.length && [...o.email].every((c, i) => c === EMAIL[i] || (c >= 'A' && c <= 'Z' && String.fromCharCode(c.charCodeAt(0) + 32) === EMAIL[i])),
    })),
    conversations,
  }))

const requestOf = fc.record({
  owner: fc.nat(),
  account: fc.option(fc.constantFrom(...ACCOUNTS, 0, 7, -1), { nil: undefined }),
  since: fc.option(fc.integer({ min: 1767225600 - 86400, max: 1767225600 + 21 * 86400 }), { nil: undefined }),
  pageSize: fc.option(fc.integer({ min: -2, max: 30 }), { nil: undefined }),
  page: fc.option(fc.integer({ min: -1, max: 5 }), { nil: undefined }),
})

function dataSetOf(w: World): DataSet {
  const faker = seededFaker(7)
  return {
    users: w.owners.map((o, index) => ({ id: index + 1, name: `User ${index + 1}`, email: o.email })),
    access_tokens: w.owners.map((o, index) => ({ id: index + 1, owner_type: o.ownerType, owner_id: index + 1, token: o.token })),
    accounts: ACCOUNTS.map((id) => ({ id, name: `Account ${id}` })),
    conversations: w.conversations.map((c, index) =>
      buildConversation(faker, {
        id: index + 1,
        account_id: c.account,
        display_id: index + 1,
        created_at: new Date(Date.UTC(2026, 0, 1 + c.day, 10)).toISOString().replace('T', ' ').slice(0, 19),
      }),
    ),
    installation_configs: w.stored === null ? [] : [installationConfigRow(w.stored)],
  }
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] nothing leaks`, () => {
    let database: TestDatabase
    beforeAll(async () => {
      database = await createTestDatabase(dialect)
    })
    afterAll(() => database?.destroy())

    test(`${RUNS[dialect]} random worlds, 8 random requests each`, async () => {
      await fc.assert(
        fc.asyncProperty(world, fc.array(requestOf, { minLength: 8, maxLength: 8 }), async (w, requests) => {
          await clearAll(database.connection)
          await insertDataSet(database.connection, dataSetOf(w))
          const app = contractApp(database.connection, { now: () => new Date('2026-02-01T00:00:00Z') })
          for (const r of requests) {
            const who = w.owners[r.owner % w.owners.length]!
            const query: Record<string, number> = { since: r.since ?? 0 }
            if (r.account !== undefined) query.account_id = r.account
            if (r.pageSize !== undefined) query.page_size = r.pageSize
            if (r.page !== undefined) query.page = r.page
            const response = await conversations(app, query, { token: who.token })
            const where = `${who.ownerType} ${JSON.stringify(who.email)} ${JSON.stringify(query)} allowlist ${JSON.stringify(w.allowed)} → ${response.status} ${response.text.slice(0, 200)}`
            if (!who.passes) {
              if (response.status !== 401) throw new Error(`a token that is not the KPI tracker's got ${response.status}: ${where}`)
            } else if (r.account !== undefined && !w.allowed.includes(r.account)) {
              if (response.status !== 401) throw new Error(`account_id outside the allowlist got ${response.status}: ${where}`)
            } else {
              if (response.status !== 200) throw new Error(`expected 200: ${where}`)
              for (const item of response.body.payload) {
                if (!w.allowed.includes(item.account_id)) throw new Error(`item of account ${item.account_id} leaked: ${where}`)
                if (r.account !== undefined && item.account_id !== r.account) throw new Error(`item of another account: ${where}`)
              }
              const expected = w.conversations.filter((c) => (r.account === undefined ? w.allowed.includes(c.account) : c.account === r.account)).length
              const since = query.since!
              const inRange = w.conversations.filter(
                (c) => (r.account === undefined ? w.allowed.includes(c.account) : c.account === r.account) && Date.UTC(2026, 0, 1 + c.day, 10) / 1000 >= since,
              ).length
              if (response.body.meta.items_count !== inRange) throw new Error(`items_count ${response.body.meta.items_count}, expected ${inRange} of ${expected}: ${where}`)
            }
            if (response.status === 401) {
              if (Object.keys(response.body).join() !== 'error') throw new Error(`401 body is not {"error"}: ${where}`)
              if (/Account \d|@|User \d|items_count|payload|token-\d/.test(response.text)) throw new Error(`401 body reveals data: ${where}`)
            }
          }
        }),
        { numRuns: RUNS[dialect], seed: Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647) },
      )
    }, 300_000)
  })
}
