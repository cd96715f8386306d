// The changes feed keeps a warehouse in sync: over random histories of inserts and updates (each
// committed up to a little less than the lag late, as slow transactions do) interleaved with walks
// that stop at end_of_stream and resume later from the stored cursor, what the client stored
// (latest state wins) is exactly the database's latest state of every allowlisted conversation:
// nothing missed, nothing foreign.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { toDbTimestamp } from '../../src/db/dialect.ts'
import { statusWord } from '../../src/kpi/conversations.rules.ts'
import { toIsoSeconds } from '../../src/kpi/time.ts'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'
import { contractApp, request } from '../helpers.ts'
import { clearAll, insertDataSet, installationConfigRow, serializedAccountIds } from '../../fixtures/insert.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'

localOnly('changes feed: random histories kept in sync')

const RUNS = { sqlite: 60, postgres: 20 } as const
const LAG = 60
const ALLOWED = [1, 2]
const ACCOUNTS = [1, 2, 3]
const TOKEN = 'sync-property-token-000001'
const T0 = Date.UTC(2026, 0, 10, 12)

type Step =
  | { kind: 'insert'; account: number; lateBy: number; status: number }
  | { kind: 'update'; pick: number; lateBy: number; status: number }
  | { kind: 'wait'; seconds: number }
  | { kind: 'sync'; pageSize: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), account: fc.constantFrom(...ACCOUNTS), lateBy: fc.integer({ min: 0, max: LAG - 1 }), status: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), lateBy: fc.integer({ min: 0, max: LAG - 1 }), status: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 0, max: 150 }) }),
  fc.record({ kind: fc.constant('sync' as const), pageSize: fc.integer({ min: 1, max: 4 }) }),
)

for (const dialect of DIALECTS) {
  describe(`[${dialect}] a warehouse kept in sync by the changes feed`, () => {
    let database: TestDatabase
    beforeAll(async () => {
      database = await createTestDatabase(dialect)
    })
    afterAll(() => database?.destroy())

    test(`${RUNS[dialect]} random histories: what the client stored is the database's latest state, nothing foreign`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          const { connection } = database
          await clearAll(connection)
          await insertDataSet(connection, {
            users: [{ id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' }],
            access_tokens: [{ id: 1, owner_type: 'User', owner_id: 1, token: TOKEN }],
            accounts: ACCOUNTS.map((id) => ({ id, name: `Account ${id}` })),
            installation_configs: [installationConfigRow(serializedAccountIds(ALLOWED.join(',')))],
          })
          let now = T0
          const app = contractApp(connection, { now: () => new Date(now), config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', changesLagSeconds: LAG, countCacheTtlMs: 0, tokenCacheTtlMs: 0, pageBoundaryTtlMs: 0 } })
          const stored = new Map<number, { status: string; updated_time: string; account_id: number }>()
          let cursor: string | undefined
          const ids: number[] = []
          const sync = async (pageSize: number) => {
            for (let pages = 0; pages < 500; pages++) {
              const query = cursor ? `cursor=${cursor}` : `start_time=0&page_size=${pageSize}`
              const answer = await request(app, `/api/v1/kpi/conversations/changes?${query}`, { token: TOKEN })
              if (answer.status !== 200) throw new Error(`${query}: ${answer.status} ${answer.text}`)
              for (const item of answer.body.payload) stored.set(item.id, { status: item.status, updated_time: item.updated_time, account_id: item.account_id })
              cursor = answer.body.meta.next_cursor
              if (answer.body.meta.end_of_stream) return
            }
            throw new Error('the walk did not reach end_of_stream')
          }
          for (const s of steps) {
            if (s.kind === 'wait') now += s.seconds * 1000
            else if (s.kind === 'sync') await sync(s.pageSize)
            else if (s.kind === 'insert') {
              const id = ids.length + 1
              ids.push(id)
              const at = toDbTimestamp(new Date(now - s.lateBy * 1000))
              await insertDataSet(connection, { conversations: [buildConversation(seededFaker(id), { id, account_id: s.account, display_id: id, created_at: at, updated_at: at, status: s.status })] })
              now += 1000
            } else if (ids.length > 0) {
              const id = ids[s.pick % ids.length]!
              await connection.db.updateTable('conversations').set({ status: s.status, updated_at: toDbTimestamp(new Date(now - s.lateBy * 1000)) }).where('id', '=', id).execute()
              now += 1000
            }
          }
          // Later, past the lag: one last resume brings the client up to date.
          now += (LAG + 1) * 1000
          await sync(3)

          const rows = await connection.db.selectFrom('conversations').select(['id', 'account_id', 'status', 'updated_at']).execute()
          const expected = new Map(
            rows
              .filter((row) => ALLOWED.includes(Number(row.account_id)))
              .map((row) => [Number(row.id), { status: statusWord(Number(row.status)), updated_time: toIsoSeconds(new Date(`${String(row.updated_at).replace(' ', 'T').slice(0, 23)}Z`)), account_id: Number(row.account_id) }]),
          )
          expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(expected))
        }),
        { numRuns: RUNS[dialect], seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
      )
    }, 120_000)
  })
}
