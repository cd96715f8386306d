// The operator's command for the change capture, run as an operator runs it (`npm run
// change-capture -- …` with DATABASE_URL): status exits 0 with "installed" or 3 with "not
// installed"; install and remove say what they did; a mistake is one clear line and exit 1.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { readCaptureStatus } from '../../src/sync/capture.ts'
import { createTestDatabase, DIALECTS, localOnly, type TestDatabase } from '../setup.ts'

localOnly('the change-capture command: against the test databases')

const ROOT = join(import.meta.dir, '../..')
const dir = mkdtempSync(join(tmpdir(), 'kpi-capture-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function capture(databaseUrl: string, ...args: string[]) {
  const child = Bun.spawn([process.execPath, join(ROOT, 'scripts/change-capture.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, output: out + err }
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] npm run change-capture`, () => {
    let database: TestDatabase | undefined
    let url = ''
    const sqliteFile = join(dir, 'cli.sqlite')
    test('status: "not installed", exit 3; install: exit 0; status: "installed", exit 0, with the retention; remove; status: exit 3 again', async () => {
      if (dialect === 'sqlite') {
        const connection = openDatabase({ dialect: 'sqlite', filename: sqliteFile, isEmbeddedDefault: false }, { readonly: false })
        await migrateToLatest(connection)
        await connection.destroy()
        url = `sqlite:${sqliteFile}`
      } else {
        database = await createTestDatabase('postgres')
        url = (database.config as { url: string }).url
      }
      const before = await capture(url, 'status')
      expect(before).toEqual({ code: 3, output: expect.stringContaining('not installed') })
      const installed = await capture(url, 'install', '--retention-days', '7.5')
      expect(installed.code).toBe(0)
      expect(installed.output).toContain('installed')
      const status = await capture(url, 'status')
      expect(status.code).toBe(0)
      expect(status.output).toMatch(/^installed/m)
      expect(status.output).toContain('7.5 days')
      const removed = await capture(url, 'remove')
      expect(removed.code).toBe(0)
      expect(removed.output).toContain('removed')
      expect((await capture(url, 'status')).code).toBe(3)
    }, 60_000)

    test('mistakes: no command, an unknown one, a bad retention, a grant on SQLite: one line saying what to do, exit 1', async () => {
      for (const args of [[], ['upgrade'], ['install', '--retention-days', '0'], ['install', '--retention-days', 'month'], ['install', '--bogus']]) {
        const { code, output } = await capture(url, ...args)
        expect(code).toBe(1)
        expect(output.trim().split('\n')).toHaveLength(1)
        expect(output).not.toContain('    at ')
      }
      if (dialect === 'sqlite') expect((await capture(url, 'install', '--grant', 'kpi_reader')).code).toBe(1)
      await database?.destroy()
    }, 60_000)
  })
}

test('npm run change-capture -- status: the npm script runs the command', async () => {
  const file = join(dir, 'npm.sqlite')
  const connection = openDatabase({ dialect: 'sqlite', filename: file, isEmbeddedDefault: false }, { readonly: false })
  await migrateToLatest(connection)
  expect((await readCaptureStatus(connection)).state).toBe('not installed')
  await connection.destroy()
  const child = Bun.spawn(['npm', 'run', '--silent', 'change-capture', '--', 'status'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: `sqlite:${file}` }, stdout: 'pipe', stderr: 'pipe' })
  const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()])
  expect(code).toBe(3)
  expect(out).toContain('not installed')
}, 60_000)
