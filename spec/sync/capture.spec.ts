// The change capture as an operator installs it, on both databases: what it writes for each
// change of what an item shows (and nothing for the rest), that install, status and remove do what
// they say and remove leaves the catalog as it found it; on PostgreSQL, that the tables' owner
// installs it without being a superuser, that the platform's own role keeps writing without a
// grant, that the service's role reads it once granted, and that the log prunes itself.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase, type Connection } from '../../src/db/dialect.ts'
import { installCapture, readCaptureStatus, removeCapture } from '../../src/sync/capture.ts'
import { insertDataSet } from '../../fixtures/insert.ts'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'

localOnly('change capture: installed into the test databases')

interface Entry {
  kind: string
  ref_id: number
  account_id: number | null
  gone: boolean
}

async function entries({ db }: Connection): Promise<Entry[]> {
  const { rows } = await sql<{ kind: string; ref_id: number | string; account_id: number | string | null; gone: boolean | number }>`
    select kind, ref_id, account_id, gone from kpi_capture_log order by seq`.execute(db)
  return rows.map((row) => ({ kind: row.kind, ref_id: Number(row.ref_id), account_id: row.account_id === null ? null : Number(row.account_id), gone: Boolean(Number(row.gone)) }))
}

/** Everything the catalog names, for a before/after comparison. */
async function catalog({ db, dialect }: Connection): Promise<string[]> {
  const query =
    dialect.name === 'postgres'
      ? sql<{ name: string }>`
          select 'class ' || c.relname || ' ' || c.relkind::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
          union all select 'proc ' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
          union all select 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass from pg_trigger t where not t.tgisinternal
          union all select 'acl ' || c.relname || ' ' || coalesce(c.relacl::text, '') from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
          order by 1`
      : sql<{ name: string }>`select type || ' ' || name || ' ' || coalesce(sql, '') as name from sqlite_master where name not like 'sqlite_%' order by 1`
  return (await query.execute(db)).rows.map((row) => row.name)
}

const at = '2026-01-10 08:00:00'
const world = {
  users: [{ id: 7, name: 'Jane Smith', email: 'jane@example.com' }],
  accounts: [{ id: 1, name: 'One' }, { id: 2, name: 'Two' }],
  contacts: [{ id: 55, account_id: 1, name: 'C', identifier: 'ext-1' }],
  conversations: [{ id: 101, account_id: 1, inbox_id: 1, display_id: 1, status: 0, assignee_id: 7, contact_id: 55, created_at: at, updated_at: at }],
  tags: [{ id: 3, name: 'billing' }],
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the change capture`, () => {
    let database: TestDatabase
    let before: string[]
    beforeAll(async () => {
      database = await createTestDatabase(dialect)
      await insertDataSet(database.connection, world)
      before = await catalog(database.connection)
    })
    afterAll(() => database?.destroy())

    test('status says "not installed"; install makes it "installed", with its retention, readable by the installer', async () => {
      expect((await readCaptureStatus(database.connection)).state).toBe('not installed')
      await installCapture(database.connection, { retentionDays: 12.5 })
      expect(await readCaptureStatus(database.connection)).toMatchObject({ state: 'installed', readable: true, retentionDays: 12.5, version: 1 })
      // Installing again replaces it in place (the retention changes, the log stays).
      await installCapture(database.connection, { retentionDays: 30 })
      expect(await readCaptureStatus(database.connection)).toMatchObject({ state: 'installed', retentionDays: 30 })
    })

    test('an entry for each change of what an item shows, none for the rest', async () => {
      const { db } = database.connection
      const count = async () => (await entries(database.connection)).length
      const start = await count()
      const written = async (work: () => Promise<unknown>) => {
        const from = await count()
        await work()
        return (await entries(database.connection)).slice(from)
      }
      // Columns an item does not show: no entry.
      expect(await written(() => db.updateTable('conversations').set({ cached_label_list: 'x', inbox_id: 9 }).where('id', '=', 101).execute())).toEqual([])
      expect(await written(() => db.updateTable('users').set({ display_name: 'J' }).where('id', '=', 7).execute())).toEqual([])
      expect(await written(() => db.updateTable('contacts').set({ name: 'Other' }).where('id', '=', 55).execute())).toEqual([])
      // What it shows: the conversation, in its account.
      expect(await written(() => db.updateTable('conversations').set({ status: 1 }).where('id', '=', 101).execute())).toEqual([{ kind: 'c', ref_id: 101, account_id: 1, gone: false }])
      expect(await written(() => db.updateTable('conversations').set({ additional_attributes: JSON.stringify({ resolved_time: '2026-01-10T09:00:00Z' }) }).where('id', '=', 101).execute())).toEqual([
        { kind: 'c', ref_id: 101, account_id: 1, gone: false },
      ])
      // Its assignee's name or email, its contact's identifier, a tag's name: whatever refers to them.
      expect(await written(() => db.updateTable('users').set({ name: 'Jane Doe' }).where('id', '=', 7).execute())).toEqual([{ kind: 'u', ref_id: 7, account_id: null, gone: false }])
      expect(await written(() => db.updateTable('contacts').set({ identifier: 'ext-2' }).where('id', '=', 55).execute())).toEqual([{ kind: 'k', ref_id: 55, account_id: null, gone: false }])
      expect(await written(() => db.updateTable('tags').set({ name: 'billing-2' }).where('id', '=', 3).execute())).toEqual([{ kind: 't', ref_id: 3, account_id: null, gone: false }])
      // A label added and taken: the conversation, with its account.
      const label = { id: 900, tag_id: 3, taggable_type: 'Conversation', taggable_id: 101, context: 'labels' }
      expect(await written(() => db.insertInto('taggings').values(label).execute())).toEqual([{ kind: 'c', ref_id: 101, account_id: 1, gone: false }])
      expect(await written(() => db.deleteFrom('taggings').where('id', '=', 900).execute())).toEqual([{ kind: 'c', ref_id: 101, account_id: 1, gone: false }])
      // Another kind of tagging (a contact's): nothing.
      expect(await written(() => db.insertInto('taggings').values({ ...label, id: 901, taggable_type: 'Contact' }).execute())).toEqual([])
      // Moved to another account: gone from the old one, then there in the new one; deleted: gone.
      expect(await written(() => db.updateTable('conversations').set({ account_id: 2 }).where('id', '=', 101).execute())).toEqual([
        { kind: 'c', ref_id: 101, account_id: 1, gone: true },
        { kind: 'c', ref_id: 101, account_id: 2, gone: false },
      ])
      expect(await written(() => db.deleteFrom('conversations').where('id', '=', 101).execute())).toEqual([{ kind: 'c', ref_id: 101, account_id: 2, gone: true }])
      expect(await count()).toBeGreaterThan(start)
    })

    test('remove takes out every object of the capture, and the catalog is as it was before install', async () => {
      await removeCapture(database.connection)
      expect((await readCaptureStatus(database.connection)).state).toBe('not installed')
      expect(await catalog(database.connection)).toEqual(before)
      // And the platform's writes go on as before.
      await database.connection.db.updateTable('users').set({ name: 'Jane' }).where('id', '=', 7).execute()
    })

    test('a capture missing a part is "partially installed", and the service does not take it for installed', async () => {
      await installCapture(database.connection, { retentionDays: 30 })
      await sql.raw(dialect === 'postgres' ? 'drop trigger kpi_capture_update on public.users' : 'drop trigger kpi_capture_users_update').execute(database.connection.db)
      expect((await readCaptureStatus(database.connection)).state).toBe('partially installed')
      await removeCapture(database.connection)
      expect(await catalog(database.connection)).toEqual(before)
    })
  })
}

if (DIALECTS.includes('postgres')) {
  describe('[postgres] the change capture in a database of roles', () => {
    let database: TestDatabase
    const roles = ['kpi_owner_role', 'kpi_platform_role', 'kpi_reader_role']
    const admin = async (work: (client: pg.Client) => Promise<unknown>) => {
      const client = new pg.Client({ connectionString: database.config.dialect === 'postgres' ? database.config.url : '' })
      await client.connect()
      try {
        await work(client)
      } finally {
        await client.end()
      }
    }
    const as = (role: string): Connection => {
      const url = new URL((database.config as { url: string }).url)
      url.username = role
      url.password = 'secret'
      return openDatabase({ dialect: 'postgres', url: url.toString(), poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 10_000 }, { readonly: false })
    }
    beforeAll(async () => {
      database = await createTestDatabase('postgres')
      await insertDataSet(database.connection, world)
      await admin(async (client) => {
        for (const role of roles) await client.query(`drop role if exists ${role}`).catch(() => {})
        for (const role of roles) await client.query(`create role ${role} login password 'secret' nosuperuser`)
        // The owner owns the tables (and may create in the schema, as a platform's role does); the
        // platform's role only writes rows; the reader only reads.
        await client.query(`grant create, usage on schema public to kpi_owner_role`)
        for (const table of ['users', 'accounts', 'contacts', 'conversations', 'tags', 'taggings', 'access_tokens', 'installation_configs']) {
          await client.query(`alter table ${table} owner to kpi_owner_role`)
          await client.query(`grant select, insert, update, delete on ${table} to kpi_platform_role`)
          await client.query(`grant select on ${table} to kpi_reader_role`)
        }
        await client.query(`grant usage on schema public to kpi_platform_role, kpi_reader_role`)
        await client.query(`grant usage on all sequences in schema public to kpi_platform_role`)
      })
    })
    afterAll(async () => {
      await database?.destroy()
      await admin(async (client) => {
        for (const role of roles) await client.query(`drop role if exists ${role}`).catch(() => {})
      }).catch(() => {})
    })

    test('the tables\' owner installs it (no superuser); the platform\'s role writes without a grant; the reader reads once granted', async () => {
      const owner = as('kpi_owner_role')
      const platform = as('kpi_platform_role')
      const reader = as('kpi_reader_role')
      try {
        await installCapture(owner, { retentionDays: 30 })
        expect(await readCaptureStatus(reader)).toMatchObject({ state: 'installed', readable: false })
        await installCapture(owner, { retentionDays: 30, grantTo: 'kpi_reader_role' })
        expect(await readCaptureStatus(reader)).toMatchObject({ state: 'installed', readable: true, retentionDays: 30 })
        // The platform writes every kind of change it makes, with no grant on the capture.
        await platform.db.insertInto('conversations').values({ id: 102, account_id: 1, inbox_id: 1, display_id: 2, created_at: at, updated_at: at }).execute()
        await platform.db.updateTable('conversations').set({ status: 2 }).where('id', '=', 102).execute()
        await platform.db.insertInto('taggings').values({ tag_id: 3, taggable_type: 'Conversation', taggable_id: 102, context: 'labels' }).execute()
        await platform.db.updateTable('users').set({ email: 'j@example.com' }).where('id', '=', 7).execute()
        await platform.db.deleteFrom('conversations').where('id', '=', 102).execute()
        // It cannot touch the log itself, nor call the capture's functions.
        await expect(sql`delete from kpi_capture_log`.execute(platform.db)).rejects.toThrow(/permission denied/)
        await expect(sql`select kpi_capture_prune()`.execute(platform.db)).rejects.toThrow(/permission denied/)
        expect((await entries(reader)).map((entry) => entry.kind)).toEqual(['c', 'c', 'c', 'u', 'c'])
        await removeCapture(owner)
        expect((await readCaptureStatus(owner)).state).toBe('not installed')
      } finally {
        await Promise.all([owner.destroy(), platform.destroy(), reader.destroy()])
      }
    })

    test('the log prunes itself: entries older than the retention, below the oldest transaction then running, go', async () => {
      const { db } = database.connection
      // A retention of a second; the prune that writes call now and then is called here directly.
      await installCapture(database.connection, { retentionDays: 1 / 86_400 })
      await db.updateTable('users').set({ name: 'A' }).where('id', '=', 7).execute()
      await sql`select kpi_capture_prune()`.execute(db) // records the first horizon
      await Bun.sleep(1200)
      await db.updateTable('users').set({ name: 'B' }).where('id', '=', 7).execute()
      await sql`select kpi_capture_prune()`.execute(db)
      // The first entry is older than the retention and below the horizon seen a second ago; the second is not.
      await Bun.sleep(1200)
      await sql`select kpi_capture_prune()`.execute(db)
      const left = await sql<{ n: string }>`select count(*) as n from kpi_capture_log`.execute(db)
      expect(Number(left.rows[0]!.n)).toBe(1)
      await removeCapture(database.connection)
    })
  })
}

if (DIALECTS.includes('sqlite')) {
  describe('[sqlite] the change capture prunes itself', () => {
    let database: TestDatabase
    beforeAll(async () => {
      database = await createTestDatabase('sqlite')
      await insertDataSet(database.connection, {
        ...world,
        conversations: Array.from({ length: 600 }, (_, index) => ({ ...world.conversations[0]!, id: index + 1, display_id: index + 1 })),
      })
    })
    afterAll(() => database?.destroy())

    test('every 1000th entry removes those older than the retention; the log\'s order goes on from where it was', async () => {
      const { db } = database.connection
      await installCapture(database.connection, { retentionDays: 1 / 86_400 })
      const count = async () => Number((await sql<{ n: number }>`select count(*) as n from kpi_capture_log`.execute(db)).rows[0]!.n)
      await db.updateTable('conversations').set({ status: 1 }).execute() // 600 entries
      await Bun.sleep(1200)
      await db.updateTable('conversations').set({ status: 2 }).execute() // the 1000th prunes the first 600
      // Entries 1-600 were older than the retention when the 1000th was written; 601-1200 stay.
      expect(await count()).toBe(600)
      const { rows } = await sql<{ seq: number }>`select max(seq) as seq from kpi_capture_log`.execute(db)
      expect(Number(rows[0]!.seq)).toBe(1200)
      await removeCapture(database.connection)
    })
  })
}
