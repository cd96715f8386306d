// `bun scripts/bench-overhead.ts` at a tiny size: its section of BENCHMARKS.md is written between
// its markers (the rest of the file kept, a second run replacing the first), with one row per rung
// of the ladder from the database's own time to the service as deployed, each with a time, its
// step from the rung before and its ratio to the replay. No figure is judged (speed is the
// benchmark's business): this keeps the instrument from rotting between the runs that use it.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DIALECTS } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')
const BEGIN = '<!-- overhead:begin (written by scripts/bench-overhead.ts) -->'
const END = '<!-- overhead:end -->'

const RUNGS = [
  'the statements through libpq',
  'the same through pg',
  "the same through Bun's SQL client",
  'the app in process',
  'the handler over HTTP, in process',
  'the service, its own process',
  'an HTTP server doing nothing, its own process',
]

async function run(out: string) {
  const child = Bun.spawn([process.execPath, join(ROOT, 'scripts/bench-overhead.ts'), '--conversations', '3000', '--samples', '24', '--rounds', '2', '--out', out], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text(), new Response(child.stdout).text()])
  return { code, stderr: code === 0 ? '' : stderr }
}

describe.skipIf(!DIALECTS.includes('postgres'))('bun scripts/bench-overhead.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpi-bench-overhead-spec-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('writes its section between its markers, one row per rung with its time, step and ratio, and keeps the rest of the file', async () => {
    const out = join(dir, 'BENCHMARKS.md')
    await Bun.write(out, '# Benchmarks\n\nthe table\n\n## Later\n\nkept\n')
    expect(await run(out)).toEqual({ code: 0, stderr: '' })
    const first = await Bun.file(out).text()
    expect(first.startsWith('# Benchmarks\n\nthe table\n')).toBe(true)
    expect(first).toContain('## Later\n\nkept\n')
    const section = first.slice(first.indexOf(BEGIN), first.indexOf(END) + END.length)
    expect(section.startsWith(BEGIN)).toBe(true)
    expect(section).toContain('bun scripts/bench-overhead.ts --conversations 3000')
    for (const rung of RUNGS) {
      const row = section.split('\n').find((line) => line.startsWith(`| ${rung}`))
      expect({ rung, row: row !== undefined }).toEqual({ rung, row: true })
      // p50 and p90 in ms, the step from the rung before (none for the first), the ratio to libpq, per round.
      expect(row).toMatch(/\| \d+\.\d{2} ms \| \d+\.\d{2} ms \| (–|[+-]\d+\.\d{2} ms) \| \d+\.\d{2} \| \d+\.\d{2}(, \d+\.\d{2})* \|$/)
    }

    // Run again: the section is replaced, not added.
    expect(await run(out)).toEqual({ code: 0, stderr: '' })
    const second = await Bun.file(out).text()
    expect(second.split(BEGIN).length).toBe(2)
    expect(second.split(END).length).toBe(2)
    expect(second).toContain('## Later\n\nkept\n')
  }, 240_000)
})
