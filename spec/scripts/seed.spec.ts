// The seed script: fills a development database of either dialect with a data set of the size
// asked for and prints the demo token; refuses to write to a database it did not create, or twice.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { createApp } from '../../src/app.ts'
import { openDatabase } from '../../src/db/dialect.ts'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { conversations } from '../helpers.ts'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../setup.ts'

const dir = mkdtempSync(join(tmpdir(), 'kpi-seed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function seed(databaseUrl: string, ...args: string[]) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../scripts/seed.ts'), ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, output: out + err }
}

describe('scripts/seed.ts', () => {
  const file = join(dir, 'dev.sqlite')

  test('--migrate --conversations 300: creates the tables, seeds 300 conversations, prints the demo token', async () => {
    const { code, output } = await seed(`sqlite:${file}`, '--migrate', '--conversations', '300')
    expect(code).toBe(0)
    expect(output).toContain('with 300 conversations')
    expect(output).toContain(DEMO_TOKEN)
    // Not a terminal: the two result lines and nothing else (no progress).
    expect(output.trim().split('\n')).toHaveLength(2)
    expect(output).not.toContain('\r')
    const connection = openDatabase({ dialect: 'sqlite', filename: file, isEmbeddedDefault: false }, { readonly: true })
    try {
      const app = createApp({ connection, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com' } })
      const everything = await conversations(app, { since: 0, page_size: 1 }, { token: DEMO_TOKEN })
      expect(everything.status).toBe(200)
      // 3 VBET accounts of 5: roughly 3/5 of the conversations, all of them readable.
      expect(everything.body.meta.items_count).toBeGreaterThan(120)
      expect(everything.body.meta.items_count).toBeLessThan(240)
    } finally {
      await connection.destroy()
    }
  })

  test('a second run refuses in one line, without a stack: the database already has conversations', async () => {
    const { code, output } = await seed(`sqlite:${file}`, '--conversations', '10')
    expect(code).toBe(1)
    expect(output).toBe(`seed: sqlite:${file} already has conversations: refusing to seed it again\n`)
  })

  test('on a terminal, its progress: a bar for making the conversations, one for inserting the rows', async () => {
    const tty = join(dir, 'tty.sqlite')
    // util-linux's script gives the seed a terminal (Debian's bsdutils, always installed).
    const child = Bun.spawn(['script', '-qec', `${process.execPath} ${join(import.meta.dir, '../../scripts/seed.ts')} --migrate --conversations 3000`, '/dev/null'], {
      env: { ...process.env, DATABASE_URL: `sqlite:${tty}` },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, output] = await Promise.all([child.exited, new Response(child.stdout).text()])
    expect(code).toBe(0)
    expect(output).toMatch(/\r\x1b\[Kmaking 3,000 conversations \[#+\] 3,000\/3,000/)
    expect(output).toMatch(/\r\x1b\[Kinserting rows \[#+\] ([\d,]+)\/\1/)
    expect(output).toContain('with 3000 conversations')
  }, 60_000)

  test('as docs/development.md gives it: DATABASE_URL=… bun scripts/migrate.ts, then bun scripts/seed.ts --conversations N', async () => {
    const developed = join(dir, 'developed.sqlite')
    const migrate = Bun.spawn([process.execPath, join(import.meta.dir, '../../scripts/migrate.ts')], { env: { ...process.env, DATABASE_URL: developed }, stdout: 'pipe', stderr: 'pipe' })
    expect([await migrate.exited, await new Response(migrate.stdout).text()]).toEqual([0, `migrated sqlite:${developed}\n`])
    const { code, output } = await seed(developed, '--conversations', '100')
    expect([code, output]).toEqual([0, expect.stringContaining('with 100 conversations')])
  }, 60_000)

  test('a database that scripts/migrate.ts did not create is never written to', async () => {
    const foreign = join(dir, 'foreign.sqlite')
    new Database(foreign, { create: true }).exec('create table conversations (id integer)')
    const { code, output } = await seed(`sqlite:${foreign}`)
    expect(code).toBe(1)
    expect(output).toContain('refusing to write to it')
    expect(output.trim().split('\n')).toHaveLength(1)
  })
})

for (const dialect of DIALECTS) {
  describe(`[${dialect}] a seeded development database`, () => {
    let database: TestDatabase | undefined
    afterAll(() => database?.destroy())

    test('takes new rows with their ids from the database afterwards: every sequence is past the ids the seed wrote', async () => {
      database = await createTestDatabase(dialect)
      const url = database.config.dialect === 'postgres' ? database.config.url : `sqlite:${database.config.filename}`
      const { code, output } = await seed(url, '--conversations', '50')
      expect([code, output]).toEqual([0, expect.stringContaining('with 50 conversations')])
      const { db } = database.connection
      // What the platform (or a developer) does next: rows without an id.
      const account = await db.insertInto('accounts').values({ name: 'After the seed' }).returning('id').executeTakeFirstOrThrow()
      const user = await db.insertInto('users').values({ name: 'New Agent', email: 'new@example.com' }).returning('id').executeTakeFirstOrThrow()
      await db.insertInto('access_tokens').values({ owner_type: 'User', owner_id: user.id, token: 'after-the-seed-token' }).execute()
      const contact = await db.insertInto('contacts').values({ account_id: account.id, name: 'New Contact' }).returning('id').executeTakeFirstOrThrow()
      const conversation = await db
        .insertInto('conversations')
        .values({ account_id: account.id, inbox_id: 1, display_id: 1, status: 0, contact_id: contact.id, created_at: '2026-01-01 00:00:00', updated_at: '2026-01-01 00:00:00' })
        .returning('id')
        .executeTakeFirstOrThrow()
      const tag = await db.insertInto('tags').values({ name: 'after-the-seed' }).returning('id').executeTakeFirstOrThrow()
      await db.insertInto('taggings').values({ tag_id: tag.id, taggable_type: 'Conversation', taggable_id: conversation.id, context: 'labels' }).execute()
      expect(conversation.id).toBeGreaterThan(50)
    })
  })
}
