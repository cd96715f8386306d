// The commands docs/development.md gives for the test suite, run as written: the test command with
// specs named (its closing line is what CI reads), the quick loop of the README, and the throwaway
// PostgreSQL a developer keeps running beside it.
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { findPostgresBin } from '../../scripts/postgres.ts'
import { REMOTE_BASE_URL } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')
// This run's own database, dialects and remote settings stay out of the commands run here.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TEST_DATABASE_URL|DIALECTS|KPI_|DATABASE_URL)$|^KPI_/.test(name)))

async function run(command: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(command, { cwd: ROOT, env: { ...ENV, ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, output: out + err, stdout: out }
}

describe.skipIf(REMOTE_BASE_URL !== undefined)('the test commands', () => {
  test('npm test -- FILE (scripts/test.ts): says what it runs first and what it took, and closes with "N passed, N failed"', async () => {
    const { code, stdout } = await run([process.execPath, 'scripts/test.ts', 'spec/config.spec.ts'], { DIALECTS: 'sqlite' })
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toContain('Named specs: the type check and a PostgreSQL start come first')
    expect(lines[0]).toContain('`DIALECTS=sqlite node_modules/.bin/bun test spec/config.spec.ts`')
    expect(lines.at(-2)).toMatch(/^\(of this run: the type check \d+ s; `DIALECTS=sqlite node_modules\/\.bin\/bun test spec\/config\.spec\.ts` skips both\)$/)
    expect(lines.at(-1)).toMatch(/^[1-9]\d* passed, 0 failed$/)
  }, 120_000)

  test('the README\'s quick loop, as written: one spec file on SQLite alone', async () => {
    const readme = await Bun.file(join(ROOT, 'README.md')).text()
    const quick = /`DIALECTS=sqlite (node_modules\/\.bin\/bun test [^`]+)`/.exec(readme)
    expect(quick).not.toBeNull()
    const [bin, ...args] = quick![1]!.split(' ')
    const { code, output } = await run([join(ROOT, bin!), ...args], { DIALECTS: 'sqlite' })
    expect(code).toBe(0)
    expect(output).toMatch(/^\s*[1-9]\d* pass$/m)
    expect(output).toMatch(/^\s*0 fail$/m)
    expect(output).not.toContain('[postgres]')
  }, 60_000)

  test.skipIf(!findPostgresBin())('bun scripts/postgres.ts: a throwaway server until Ctrl-C, its folder removed after', async () => {
    const child = Bun.spawn([process.execPath, 'scripts/postgres.ts'], { cwd: ROOT, env: ENV, stdout: 'pipe', stderr: 'pipe' })
    const reader = child.stdout.getReader()
    let output = ''
    while (!/\(Ctrl-C stops it and removes (\S+)\)/.test(output)) {
      const chunk = await reader.read()
      if (chunk.done) throw new Error(`scripts/postgres.ts ended: ${output}${await new Response(child.stderr).text()}`)
      output += new TextDecoder().decode(chunk.value)
    }
    const url = /PostgreSQL is running: (\S+)/.exec(output)![1]!
    const folder = /removes (\S+)\)/.exec(output)![1]!
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    await client.end()
    child.kill('SIGINT')
    await child.exited
    expect(existsSync(folder)).toBe(false)
  }, 60_000)
})
