// How the pool runs statements on PostgreSQL (src/db/postgres-pool.ts): in session mode each
// statement text is prepared once per connection and then only bound and executed (the server
// plans the page's union of per-account scans once, not on every request); a prepared statement
// whose result no longer fits the table (a column's type changed under it) is prepared again, not
// failed; in transaction mode (a transaction pooler hands each transaction to any server
// connection) nothing is prepared; and when the service is left in session mode behind a
// transaction pooler that was told to ignore its startup parameters (a misconfiguration a pooler
// lets through), statements that land on a server connection that never saw them run unnamed,
// the answers stay right, and the service says what to set. In both modes no statement is JIT-compiled.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase, type Connection } from '../../src/db/dialect.ts'
import { MISSING_STATEMENT_WARNING, type PoolMode } from '../../src/db/postgres-pool.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'
import { TOKENS, VBET_ACCOUNTS } from '../../fixtures/contract-data-set.ts'
import { startService } from '../service-process.ts'
import { startPgBouncer } from '../../scripts/topology.ts'

describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] statements of the pool', () => {
  const ctx = useDatabase('postgres')
  const url = () => (ctx.database.config as { url: string }).url

  /** A pool of one connection in `mode`: every statement runs on the same server session. */
  const onePool = (mode: PoolMode) => openDatabase({ ...(ctx.database.config as any), poolSize: 1, poolMode: mode }, { readonly: true })
  const prepared = async (connection: Connection) =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(connection.db)).rows.map((row) => row.statement)

  test('session mode: each statement text is prepared once on the connection, then reused', async () => {
    const connection = onePool('session')
    try {
      const app = contractApp(connection)
      for (const query of [{ page_size: 2 }, { page_size: 2 }, { page_size: 3, page: 2 }] as Record<string, number>[]) expect((await conversations(app, query)).status).toBe(200)
      const statements = await prepared(connection)
      // The page's statements are there: the count, the ids, the rows, the labels; each text once.
      expect(statements.some((text) => /count\(\*\)/.test(text) && /from "conversations"/.test(text))).toBe(true)
      expect(statements.some((text) => /from "taggings"/.test(text))).toBe(true)
      expect(statements.some((text) => /left join "contacts"/.test(text))).toBe(true)
      expect(new Set(statements).size).toBe(statements.length)
    } finally {
      await connection.destroy()
    }
  })

  test('session mode: a prepared statement whose result type changed under it (a column altered) is prepared again, and answers', async () => {
    const connection = onePool('session')
    const admin = new pg.Client({ connectionString: url() })
    await admin.connect()
    try {
      const app = contractApp(connection)
      const before = await conversations(app, { page_size: 5 })
      expect(before.status).toBe(200)
      // users.name is selected as the assignee's name: varchar to text changes the statement's result type.
      await admin.query('alter table users alter column name type text')
      const after = await conversations(app, { page_size: 5 })
      expect(after.status).toBe(200)
      expect(after.body).toEqual(before.body)
    } finally {
      await admin.query('alter table users alter column name type varchar').catch(() => {})
      await admin.end()
      await connection.destroy()
    }
  })

  describe('session mode behind a transaction pooler that ignores the startup parameters (DB_POOL_MODE left at session)', () => {
    let bouncer: Awaited<ReturnType<typeof startPgBouncer>> | undefined
    /** The test database through PgBouncer: transaction pooling, two server connections for everyone. */
    const throughBouncer = () => {
      const direct = new URL(url())
      return `postgres://${direct.username}@127.0.0.1:${bouncer!.port}${direct.pathname}`
    }
    beforeAll(async () => {
      const direct = new URL(url())
      bouncer = await startPgBouncer(
        { standby: Number(direct.port), primary: Number(direct.port) },
        {
          settings: { ignore_startup_parameters: 'options,statement_timeout', default_pool_size: 2 },
          databases: { '*': `host=127.0.0.1 port=${direct.port}` },
          users: [decodeURIComponent(direct.username)],
        },
      )
    }, 20_000)
    afterAll(async () => {
      await bouncer?.stop()
    })
    const all = { page_size: 4 }
    const one = { page_size: 4, account_id: VBET_ACCOUNTS[0] }

    test('statements run unnamed once one lands where it was not prepared; every answer right; each pool warns to set DB_POOL_MODE=transaction', async () => {
      const warnings: string[] = []
      // Two pools, as two instances of the service would be.
      const open = () =>
        openDatabase({ ...(ctx.database.config as any), url: throughBouncer(), poolSize: 3, poolMode: 'session' }, { readonly: true, onWarning: (message) => warnings.push(message) })
      const [a, b] = [open(), open()]
      try {
        const [appA, appB] = [contractApp(a), contractApp(b)]
        const expected = { all: (await conversations(contractApp(ctx.connection), all)).body, one: (await conversations(contractApp(ctx.connection), one)).body }
        // The two pools meet their statements in different orders.
        expect((await conversations(appA, all)).status).toBe(200)
        expect((await conversations(appB, one)).status).toBe(200)
        const asked = Array.from({ length: 48 }, (_, index) => ({ app: index % 2 ? appA : appB, which: index % 3 ? ('all' as const) : ('one' as const) }))
        const answers = await Promise.all(asked.map(({ app, which }) => conversations(app, which === 'all' ? all : one)))
        expect(answers.map((answer) => answer.status)).toEqual(asked.map(() => 200))
        answers.forEach((answer, index) => expect(answer.body).toEqual(expected[asked[index]!.which]))
        expect(warnings.length).toBeGreaterThanOrEqual(1)
        expect(warnings.length).toBeLessThanOrEqual(2)
        expect(warnings.every((warning) => warning === MISSING_STATEMENT_WARNING && /DB_POOL_MODE=transaction/.test(warning))).toBe(true)
      } finally {
        await Promise.all([a.destroy(), b.destroy()])
      }
    }, 30_000)

    test('npm start: the warning is one log line, and the answers are 200', async () => {
      const service = await startService({ DATABASE_URL: throughBouncer(), DB_POOL_SIZE: '4', CURSOR_SECRET: 'x'.repeat(32) })
      try {
        const answers = await Promise.all(
          Array.from({ length: 24 }, (_, index) =>
            fetch(`${service.url}/api/v1/kpi/conversations?${new URLSearchParams(Object.entries(index % 2 ? all : one).map(([k, v]) => [k, String(v)]))}`, {
              headers: { api_access_token: TOKENS.kpiTracker },
            }),
          ),
        )
        expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
        const lines = service.output().split('\n').filter((line) => line.includes(MISSING_STATEMENT_WARNING.slice(0, 40)))
        expect(lines.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ level: 'warn', message: MISSING_STATEMENT_WARNING })])
      } finally {
        expect(await service.stop()).toBe(0)
      }
    }, 30_000)
  })

  test('both modes: statements run without JIT compilation (the metrics of a year took 1.5 s more to compile than the rest of their run)', async () => {
    for (const mode of ['session', 'transaction'] as const) {
      const connection = onePool(mode)
      try {
        const { rows } = await sql<{ jit: string }>`select current_setting('jit') as jit`.execute(connection.db)
        expect({ mode, jit: rows[0]!.jit }).toEqual({ mode, jit: 'off' })
      } finally {
        await connection.destroy()
      }
    }
  })

  test('transaction mode: nothing is prepared (a transaction pooler may run the next statement on another server connection)', async () => {
    const connection = onePool('transaction')
    try {
      const app = contractApp(connection)
      for (const query of [{ page_size: 2 }, { page_size: 2 }]) expect((await conversations(app, query)).status).toBe(200)
      expect(await prepared(connection)).toEqual([])
    } finally {
      await connection.destroy()
    }
  })
})

describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] a saturated pool', () => {
  const ctx = useDatabase('postgres')

  test('every connection working while the database answers: a page is 503 "busy" (Retry-After), never "unavailable"; /ready says saturated; both counted', async () => {
    const connection = openDatabase({ ...(ctx.database.config as any), poolSize: 2, connectTimeoutMs: 300 }, { readonly: true })
    const app = contractApp(connection, { logError: () => {}, log: () => {} })
    let working = true
    let held!: () => void
    const hold = new Promise<void>((resolve) => (held = resolve))
    try {
      // One connection held (a stalled export), one answering statement after statement (busy pages).
      const stalled = connection.db.connection().execute(() => hold)
      const busy = connection.db.connection().execute(async (db) => {
        while (working) await sql`select 1`.execute(db)
      })
      await Bun.sleep(50)
      const page = await conversations(app, { page_size: 1 })
      expect(page.status).toBe(503)
      expect(page.body.error).toStartWith('The service is busy')
      expect(page.headers.get('retry-after')).toBe('1')
      expect(connection.poolStats!()).toMatchObject({ busy: 2, max: 2, saturations: 1 })
      // /ready waits in no line: the database answers, every connection works.
      const pending = conversations(app, { page_size: 1 }) // one waiting, as under load
      await Bun.sleep(20)
      const ready = await app.handle(new Request('http://localhost/ready'))
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', shared_state: 'memory', database_pool: 'saturated' }])
      await pending
      working = false
      held()
      await Promise.all([stalled, busy])
      expect((await conversations(app, { page_size: 1 })).status).toBe(200)
      expect(connection.poolStats!()).toMatchObject({ busy: 0, saturated: false })
    } finally {
      working = false
      held()
      await connection.destroy()
    }
  })
})
