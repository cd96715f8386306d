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

  test('a second run refuses: the database already has conversations', async () => {
    const { code, output } = await seed(`sqlite:${file}`, '--conversations', '10')
    expect(code).not.toBe(0)
    expect(output).toContain('already has conversations')
  })

  test('a database that scripts/migrate.ts did not create is never written to', async () => {
    const foreign = join(dir, 'foreign.sqlite')
    new Database(foreign, { create: true }).exec('create table conversations (id integer)')
    const { code, output } = await seed(`sqlite:${foreign}`)
    expect(code).not.toBe(0)
    expect(output).toContain('refusing to write to it')
  })
})
