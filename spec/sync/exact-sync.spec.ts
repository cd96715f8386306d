// The promise of exact mode, checked the way a warehouse engineer would: the README's loader
// (upsert by id, delete on a deletion item, drop a removed account's rows, resume from the stored
// cursor) runs against random writers doing everything the platform does (inserts, updates,
// resolves and reopens, labels added and taken, agents renamed, contacts changed, updates that
// leave updated_at alone, updated_at from application clocks far behind, deletes, allowlist
// changes) while transactions stay open across the loader's polls (PostgreSQL: several at once,
// committed or rolled back later; SQLite: one writer, held across a poll). At rest, the copy equals
// the database's current state of every allowlisted conversation, field by field: missing 0, stale
// 0, extra 0.
import { afterAll, beforeAll, describe, test } from 'bun:test'
import { Database as SqliteDatabase } from 'bun:sqlite'
import fc from 'fast-check'
import { CompiledQuery } from 'kysely'
import pg from 'pg'
import { openDatabase, toDbTimestamp, type Connection } from '../../src/db/dialect.ts'
import { CaptureProbe } from '../../src/sync/capture-probe.ts'
import { installCapture } from '../../src/sync/capture.ts'
import { VBET_ACCOUNT_IDS_CONFIG } from '../../src/kpi/conversations.repository.ts'
import { clearAll, insertDataSet, installationConfigRow, serializedAccountIds } from '../../fixtures/insert.ts'
import { buildConversation, seededFaker } from '../../fixtures/builders.ts'
import { contractApp, conversations, EVERYTHING, request, type TestApp } from '../helpers.ts'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'

localOnly('changes feed, exact mode: random writers against the loader')

const RUNS = { sqlite: 30, postgres: 25 } as const
const TOKEN = 'exact-sync-token-00000001'
const ACCOUNTS = [1, 2, 3, 4]
const USERS = [11, 12, 13]
const CONTACTS = [21, 22, 23]
const TAGS = [31, 32, 33, 34]
/** Conversations each history starts with. */
const INITIAL = 16
/** Holders: connections that keep a transaction open across steps (PostgreSQL). */
const HOLDERS = 3

type Write =
  | { kind: 'insert'; account: number; status: number; assignee: number | null; contact: number | null }
  | { kind: 'update'; pick: number; status: number; skew: number | null }
  | { kind: 'resolve'; pick: number; reopen: boolean }
  | { kind: 'assign'; pick: number; assignee: number | null }
  | { kind: 'label'; pick: number; tag: number }
  | { kind: 'unlabel'; pick: number }
  | { kind: 'rename'; user: number }
  | { kind: 'identify'; contact: number }
  | { kind: 'retag'; tag: number }
  | { kind: 'delete'; pick: number }

type Step =
  | { kind: 'write'; write: Write }
  | { kind: 'hold'; holder: number; write: Write }
  | { kind: 'release'; holder: number; commit: boolean }
  | { kind: 'allowlist'; accounts: number[] }
  | { kind: 'sync'; pageSize: number }

const pick = fc.nat()
const write: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), account: fc.constantFrom(...ACCOUNTS), status: fc.integer({ min: 0, max: 3 }), assignee: fc.option(fc.constantFrom(...USERS)), contact: fc.option(fc.constantFrom(...CONTACTS)) }),
  // skew: null leaves updated_at as it was (update_columns, bulk SQL); else seconds behind the real clock (an application server's).
  fc.record({ kind: fc.constant('update' as const), pick, status: fc.integer({ min: 0, max: 3 }), skew: fc.option(fc.integer({ min: 0, max: 3600 })) }),
  fc.record({ kind: fc.constant('resolve' as const), pick, reopen: fc.boolean() }),
  fc.record({ kind: fc.constant('assign' as const), pick, assignee: fc.option(fc.constantFrom(...USERS)) }),
  fc.record({ kind: fc.constant('label' as const), pick, tag: fc.constantFrom(...TAGS) }),
  fc.record({ kind: fc.constant('unlabel' as const), pick }),
  fc.record({ kind: fc.constant('rename' as const), user: fc.constantFrom(...USERS) }),
  fc.record({ kind: fc.constant('identify' as const), contact: fc.constantFrom(...CONTACTS) }),
  fc.record({ kind: fc.constant('retag' as const), tag: fc.constantFrom(...TAGS) }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
)
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: write.map((w) => ({ kind: 'write' as const, write: w })) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hold' as const), holder: fc.nat(HOLDERS - 1), write }) },
  // Released less often than held: transactions stay open across several polls.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), holder: fc.nat(HOLDERS - 1), commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('allowlist' as const), accounts: fc.subarray(ACCOUNTS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), pageSize: fc.integer({ min: 1, max: 5 }) }) },
)

/** A statement with its parameters, run on whichever connection writes it. */
type Statement = { sql: string; values: unknown[] }
/** What a write touches: the rows it locks (a held write's rows are left alone by other steps until it ends). */
type Locks = string[]

/** The statements of a write, given the conversation ids that exist, and the rows it locks. */
function statementsOf(w: Write, ids: number[], nextId: () => number, serial: () => number, dialect: string): { statements: Statement[]; locks: Locks } | undefined {
  const now = Date.now()
  const at = (skewSeconds: number) => toDbTimestamp(new Date(now - skewSeconds * 1000))
  const target = 'pick' in w ? ids[w.pick % Math.max(ids.length, 1)] : undefined
  if ('pick' in w && target === undefined) return undefined
  const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?')
  switch (w.kind) {
    case 'insert': {
      const id = nextId()
      const row = buildConversation(seededFaker(id), { id, account_id: w.account, display_id: id, created_at: at(60), updated_at: at(60), status: w.status, assignee_id: w.assignee, contact_id: w.contact })
      const columns = Object.keys(row)
      return {
        statements: [{ sql: `insert into conversations (${columns.join(', ')}) values (${columns.map((_, i) => p(i + 1)).join(', ')})`, values: Object.values(row) }],
        locks: [`c${id}`],
      }
    }
    case 'update':
      return w.skew === null
        ? { statements: [{ sql: `update conversations set status = ${p(1)} where id = ${p(2)}`, values: [w.status, target] }], locks: [`c${target}`] }
        : { statements: [{ sql: `update conversations set status = ${p(1)}, updated_at = ${p(2)} where id = ${p(3)}`, values: [w.status, at(w.skew), target] }], locks: [`c${target}`] }
    case 'resolve': {
      const attributes = w.reopen ? { reopen_time: new Date(now - 30_000).toISOString(), resolved_time: new Date(now).toISOString() } : { resolved_time: Math.floor(now / 1000) }
      return { statements: [{ sql: `update conversations set status = 1, additional_attributes = ${p(1)}, updated_at = ${p(2)} where id = ${p(3)}`, values: [JSON.stringify(attributes), at(10), target] }], locks: [`c${target}`] }
    }
    case 'assign':
      return { statements: [{ sql: `update conversations set assignee_id = ${p(1)}, updated_at = ${p(2)} where id = ${p(3)}`, values: [w.assignee, at(10), target] }], locks: [`c${target}`] }
    case 'label':
      return { statements: [{ sql: `insert into taggings (id, tag_id, taggable_type, taggable_id, context) values (${p(1)}, ${p(2)}, 'Conversation', ${p(3)}, 'labels')`, values: [serial(), w.tag, target] }], locks: [] }
    case 'unlabel':
      return { statements: [{ sql: `delete from taggings where id in (select id from taggings where taggable_id = ${p(1)} order by id limit 1)`, values: [target] }], locks: [`c${target}`, `labels${target}`] }
    case 'rename':
      return { statements: [{ sql: `update users set name = ${p(1)} where id = ${p(2)}`, values: [`Agent ${w.user} #${serial()}`, w.user] }], locks: [`u${w.user}`] }
    case 'identify':
      return { statements: [{ sql: `update contacts set identifier = ${p(1)} where id = ${p(2)}`, values: [`ext-${w.contact}-${serial()}`, w.contact] }], locks: [`k${w.contact}`] }
    case 'retag':
      return { statements: [{ sql: `update tags set name = ${p(1)} where id = ${p(2)}`, values: [`tag-${w.tag}-${serial()}`, w.tag] }], locks: [`t${w.tag}`] }
    case 'delete':
      return { statements: [{ sql: `delete from conversations where id = ${p(1)}`, values: [target] }], locks: [`c${target}`, `labels${target}`] }
  }
}

/** A connection of its own that keeps a transaction open until released. */
interface Holder {
  begin(statements: Statement[]): Promise<void>
  end(commit: boolean): Promise<void>
  close(): Promise<void>
}

function holderOf(database: TestDatabase): Holder {
  const config = database.config
  if (config.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: config.url })
    const connected = client.connect()
    return {
      async begin(statements) {
        await connected
        await client.query('begin')
        for (const statement of statements) await client.query(statement.sql, statement.values)
      },
      async end(commit) {
        await client.query(commit ? 'commit' : 'rollback')
      },
      async close() {
        await connected
        await client.end()
      },
    }
  }
  const sqlite = new SqliteDatabase(config.filename)
  sqlite.exec('PRAGMA busy_timeout = 5000')
  return {
    async begin(statements) {
      sqlite.exec('begin immediate')
      for (const statement of statements) sqlite.query(statement.sql).run(...(statement.values as never[]))
    },
    async end(commit) {
      sqlite.exec(commit ? 'commit' : 'rollback')
    },
    async close() {
      sqlite.close()
    },
  }
}

/** The README's loader: the copy, by conversation id. */
function loaderOf(app: TestApp) {
  const copy = new Map<number, Record<string, unknown>>()
  let cursor: string | undefined
  return {
    copy,
    async sync(pageSize: number) {
      for (let pages = 0; pages < 2000; pages++) {
        const query = cursor ? `cursor=${cursor}` : `start_time=0&page_size=${pageSize}`
        const answer = await request(app, `/api/v1/kpi/conversations/changes?${query}`, { token: TOKEN })
        if (answer.status !== 200) throw new Error(`${query}: ${answer.status} ${answer.text}`)
        const { meta, payload } = answer.body
        if (meta.exact !== true) throw new Error('the feed is not exact')
        // A removed account's rows go before the page's items are applied.
        for (const account of meta.accounts_removed ?? []) for (const [id, row] of copy) if (row.account_id === account) copy.delete(id)
        for (const item of payload) {
          if (item.deleted) copy.delete(item.id)
          else copy.set(item.id, item)
        }
        cursor = meta.next_cursor
        if (meta.end_of_stream) return
      }
      throw new Error('the walk did not reach end_of_stream')
    },
  }
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] exact mode: a warehouse copy under random writers`, () => {
    let database: TestDatabase
    let reader: Connection
    beforeAll(async () => {
      database = await createTestDatabase(dialect)
      await installCapture(database.connection, { retentionDays: 30 })
      // The service reads with a read-only connection of its own.
      reader = openDatabase(database.config, { readonly: true })
    })
    afterAll(async () => {
      await reader?.destroy()
      await database?.destroy()
    })

    test(`${RUNS[dialect]} random histories: the copy equals the database, field by field (missing 0, stale 0, extra 0)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
          const { connection } = database
          await clearAll(connection)
          await insertDataSet(connection, {
            users: [{ id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' }, ...USERS.map((id) => ({ id, name: `Agent ${id}`, email: `agent${id}@vbet.com` }))],
            access_tokens: [{ id: 1, owner_type: 'User', owner_id: 1, token: TOKEN }],
            accounts: ACCOUNTS.map((id) => ({ id, name: `Account ${id}` })),
            contacts: CONTACTS.map((id) => ({ id, account_id: 1, name: `Contact ${id}`, identifier: `ext-${id}` })),
            tags: TAGS.map((id) => ({ id, name: `tag-${id}` })),
            installation_configs: [installationConfigRow(serializedAccountIds('1,2'))],
          })
          // A world to start from: conversations in every account, assigned, with contacts and labels.
          const start = Date.now() - 3_600_000
          const initial = Array.from({ length: INITIAL }, (_, index) => index + 1)
          await insertDataSet(connection, {
            conversations: initial.map((id) => {
              const at = toDbTimestamp(new Date(start + id * 1000))
              return buildConversation(seededFaker(id), {
                id,
                account_id: ACCOUNTS[id % ACCOUNTS.length]!,
                display_id: id,
                created_at: at,
                updated_at: at,
                status: id % 4,
                assignee_id: id % 4 === 0 ? null : USERS[id % USERS.length]!,
                contact_id: id % 3 === 0 ? null : CONTACTS[id % CONTACTS.length]!,
              })
            }),
            taggings: initial.flatMap((id) => TAGS.slice(0, id % 3).map((tag, index) => ({ id: id * 10 + index, tag_id: tag, taggable_type: 'Conversation', taggable_id: id, context: 'labels' }))),
          })
          const app = contractApp(reader, { capture: new CaptureProbe(reader, { ttlMs: 0 }), config: { kpiTrackerEmail: 'kpi_tracker@vbet.com', countCacheTtlMs: 0, tokenCacheTtlMs: 0, pageBoundaryTtlMs: 0 } })
          const loader = loaderOf(app)
          const holders = Array.from({ length: HOLDERS }, () => holderOf(database))
          const held = new Map<number, Locks>()
          const ids: number[] = [...initial]
          let maxId = 1000
          let serialNumber = 5000
          const run = async (statements: Statement[]) => {
            for (const statement of statements) await connection.db.executeQuery(CompiledQuery.raw(statement.sql, statement.values))
          }
          const lockedNow = () => new Set([...held.values()].flat())
          try {
            for (const s of steps) {
              if (s.kind === 'sync') await loader.sync(s.pageSize)
              else if (s.kind === 'allowlist') {
                // SQLite: one writer at a time; a held transaction ends first.
                if (dialect === 'sqlite') for (const [holder] of held) await release(holder, true)
                await connection.db.updateTable('installation_configs').set({ serialized_value: serializedAccountIds(s.accounts.join(',') || '0') }).where('name', '=', VBET_ACCOUNT_IDS_CONFIG).execute()
              } else if (s.kind === 'release') {
                if (held.has(s.holder)) await release(s.holder, s.commit)
              } else {
                const planned = statementsOf(s.write, ids, () => ++maxId, () => ++serialNumber, dialect)
                if (!planned) continue
                // Rows a held transaction locks are left alone (their writer would wait for ever here).
                if (planned.locks.some((lock) => lockedNow().has(lock))) continue
                if (dialect === 'sqlite') for (const [holder] of held) await release(holder, true)
                if (s.kind === 'write' || held.has(s.holder)) {
                  await run(planned.statements)
                } else {
                  await holders[s.holder]!.begin(planned.statements)
                  held.set(s.holder, planned.locks)
                  // SQLite's one writer: the loader polls while it holds, then it commits.
                  if (dialect === 'sqlite') await loader.sync(3)
                }
                if (s.write.kind === 'insert') ids.push(maxId)
              }
            }
            for (const [holder] of held) await release(holder, true)
            await loader.sync(4)
          } finally {
            for (const [holder] of held) await holders[holder]!.end(false).catch(() => {})
            await Promise.all(holders.map((holder) => holder.close()))
          }

          // The truth: the documented endpoint's item of every allowlisted conversation, with its updated_at.
          const truth = new Map<number, Record<string, unknown>>()
          const documented = await conversations(app, { ...EVERYTHING, page_size: 1000 }, { token: TOKEN })
          const updated = new Map((await connection.db.selectFrom('conversations').select(['id', 'updated_at']).execute()).map((row) => [Number(row.id), String(row.updated_at)]))
          for (const item of documented.body.payload) {
            truth.set(item.id, { ...item, updated_time: new Date(`${updated.get(item.id)!.replace(' ', 'T').slice(0, 19)}Z`).toISOString().replace('.000Z', 'Z'), deleted: false })
          }
          if (process.env.EXACT_SYNC_DEBUG) console.log(`steps ${steps.length} truth ${truth.size} copy ${loader.copy.size} ids ${ids.length} kinds ${steps.map((x) => x.kind === 'write' || x.kind === 'hold' ? x.write.kind : x.kind).join(',')}`)
          const missing = [...truth.keys()].filter((id) => !loader.copy.has(id))
          const extra = [...loader.copy.keys()].filter((id) => !truth.has(id))
          const stale = [...truth.keys()].filter((id) => loader.copy.has(id) && !Bun.deepEquals(loader.copy.get(id), truth.get(id)))
          if (missing.length + extra.length + stale.length > 0) {
            const first = stale[0]
            throw new Error(
              `missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}, stale ${JSON.stringify(stale)}` +
                (first === undefined ? '' : `\n  copy:  ${JSON.stringify(loader.copy.get(first))}\n  truth: ${JSON.stringify(truth.get(first))}`),
            )
          }

          async function release(holder: number, commit: boolean) {
            await holders[holder]!.end(commit)
            held.delete(holder)
          }
        }),
        { numRuns: RUNS[dialect], seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
      )
    }, 300_000)
  })
}
