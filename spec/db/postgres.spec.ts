// PostgreSQL itself: the development schema has production's column types; the service runs with
// a role that may only SELECT and changes nothing; a statement past statement_timeout is a 503
// that frees its connection.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase } from '../../src/db/dialect.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'
import { startService } from '../service-process.ts'

describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] the database as production has it', () => {
  const ctx = useDatabase('postgres')
  const url = () => (ctx.database.config as { url: string }).url

  test('column types are production\'s: int4 ids, bigint owner_id/contact_id, timestamp without time zone, jsonb, text', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string; data_type: string; character_maximum_length: number | null }>`
      select table_name, column_name, data_type, character_maximum_length from information_schema.columns
      where table_schema = 'public' and table_name <> 'kysely_migration' and table_name <> 'kysely_migration_lock'`.execute(ctx.connection.db)
    const types = Object.fromEntries(rows.map((row) => [`${row.table_name}.${row.column_name}`, row.data_type + (row.character_maximum_length ? `(${row.character_maximum_length})` : '')]))
    expect(types).toMatchObject({
      'users.id': 'integer',
      'users.name': 'character varying',
      'users.email': 'character varying',
      'access_tokens.id': 'bigint',
      'access_tokens.owner_id': 'bigint',
      'access_tokens.owner_type': 'character varying',
      'access_tokens.token': 'character varying',
      'accounts.id': 'integer',
      'contacts.id': 'integer',
      'contacts.account_id': 'integer',
      'conversations.id': 'integer',
      'conversations.account_id': 'integer',
      'conversations.display_id': 'integer',
      'conversations.status': 'integer',
      'conversations.assignee_id': 'integer',
      'conversations.contact_id': 'bigint',
      'conversations.additional_attributes': 'jsonb',
      'conversations.cached_label_list': 'text',
      'conversations.created_at': 'timestamp without time zone',
      'conversations.updated_at': 'timestamp without time zone',
      'tags.id': 'integer',
      'taggings.taggable_id': 'integer',
      'taggings.context': 'character varying(128)',
      'installation_configs.id': 'bigint',
      'installation_configs.serialized_value': 'jsonb',
      'installation_configs.locked': 'boolean',
    })
  })

  test('the VBET_ACCOUNT_IDS config is a jsonb string holding the YAML document, as the platform stores it', async () => {
    const { rows } = await sql<{ kind: string }>`select jsonb_typeof(serialized_value) as kind from installation_configs where name = 'VBET_ACCOUNT_IDS'`.execute(ctx.connection.db)
    expect(rows).toEqual([{ kind: 'string' }])
  })

  test('npm start with DATABASE_URL of a role granted what docs/deployment.md grants, and nothing else: serves every endpoint and changes nothing', async () => {
    const admin = new pg.Client({ connectionString: url() })
    await admin.connect()
    const role = `kpi_reader_${process.pid}`
    const tables = async () => (await admin.query(`select table_name from information_schema.tables where table_schema = 'public' order by 1`)).rows.map((r) => r.table_name)
    try {
      await admin.query(`drop role if exists ${role}`)
      await admin.query(`create role ${role} login`)
      await admin.query(`revoke create on schema public from public`)
      // The grants as the deployment guide gives them, run as written (the role's name aside).
      const guide = await Bun.file(`${import.meta.dir}/../../docs/deployment.md`).text()
      const grants = guide.match(/^GRANT .* TO kpi_reader;$/gm) ?? []
      expect(grants).toHaveLength(2)
      for (const grant of grants) await admin.query(grant.replace(/kpi_reader;$/, `${role};`))
      const before = await tables()

      const readerUrl = new URL(url())
      readerUrl.username = role
      const service = await startService({ DATABASE_URL: readerUrl.toString() })
      try {
        const response = await fetch(`${service.url}/api/v1/kpi/conversations?page_size=3`, { headers: { api_access_token: TOKENS.kpiTracker } })
        expect(response.status).toBe(200)
        expect((await response.json()).meta.items_count).toBe(15)
        // The other endpoint and readiness read no table beyond the grants either.
        const changes = await fetch(`${service.url}/api/v1/kpi/conversations/changes?start_time=0`, { headers: { api_access_token: TOKENS.kpiTracker } })
        expect(changes.status).toBe(200)
        expect((await fetch(`${service.url}/ready`)).status).toBe(200)
        expect(service.output()).not.toContain('demo token')
        expect(service.output()).not.toContain(TOKENS.kpiTracker)
        // A real database without CURSOR_SECRET: cursors would die with this process, and on any other instance.
        expect(service.output()).toMatch(/"level":"warn","message":"CURSOR_SECRET is not set[^"]*restart[^"]*instance/)
      } finally {
        expect(await service.stop()).toBe(0)
      }
      const withSecret = await startService({ DATABASE_URL: readerUrl.toString(), CURSOR_SECRET: 'x'.repeat(32) })
      expect(withSecret.output()).not.toContain('CURSOR_SECRET')
      expect(await withSecret.stop()).toBe(0)
      // No migration table, no index, nothing: the same tables as before it started.
      expect(await tables()).toEqual(before)
    } finally {
      await admin.query(`drop owned by ${role}`).catch(() => {})
      await admin.query(`drop role if exists ${role}`).catch(() => {})
      await admin.end()
    }
  })

  test('the indexes docs/deployment.md and docs/changes-feed.md give, run as written: built, with the columns they name', async () => {
    const docs = (await Bun.file(`${import.meta.dir}/../../docs/deployment.md`).text()) + (await Bun.file(`${import.meta.dir}/../../docs/changes-feed.md`).text())
    const statements = docs.match(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS \w+\n\s+ON conversations \([^)]+\);$/gm) ?? []
    expect(statements).toHaveLength(2)
    const admin = new pg.Client({ connectionString: url() })
    await admin.connect()
    try {
      for (const statement of statements) {
        const name = /IF NOT EXISTS (\w+)/.exec(statement)![1]!
        // The development schema has them: drop first, so the statement builds its index for real.
        await admin.query(`drop index if exists ${name}`)
        await admin.query(statement) // CONCURRENTLY: outside a transaction, as a person runs it
        const { rows } = await admin.query(`select indexdef from pg_indexes where indexname = $1`, [name])
        expect(rows).toEqual([{ indexdef: expect.stringContaining(`(${/\(([^)]+)\)/.exec(statement)![1]})`) }])
      }
    } finally {
      await admin.end()
    }
  })

  test('a statement past statement_timeout answers 503 promptly and frees its connection', async () => {
    const connection = openDatabase({ ...(ctx.database.config as any), poolSize: 1, statementTimeoutMs: 300 }, { readonly: true })
    const locker = new pg.Client({ connectionString: url() })
    await locker.connect()
    try {
      const app = contractApp(connection)
      expect((await conversations(app)).status).toBe(200)
      // Another session holds the table: the service's count and page queries wait on the lock.
      await locker.query('begin')
      await locker.query('lock table conversations in access exclusive mode')
      const started = performance.now()
      const blocked = await conversations(app)
      expect(blocked.status).toBe(503)
      expect(blocked.body).toEqual({ error: expect.any(String) })
      expect(performance.now() - started).toBeLessThan(3000)
      await locker.query('rollback')
      // One connection in the pool: this only answers if the timed-out statement gave it back.
      expect((await conversations(app)).status).toBe(200)
    } finally {
      await locker.query('rollback').catch(() => {})
      await locker.end()
      await connection.destroy()
    }
  })
})
