// `bun scripts/bench-capture.ts` at a tiny size: every row of the capture's section is written with
// its figures, and the rest of the report is kept. No figure is judged here (speed is the
// benchmark's business, on a quiet machine): this keeps the instrument from rotting between runs.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CAPTURE_END, CAPTURE_START, withCaptureSection } from '../../scripts/bench-capture.ts'
import { DIALECTS } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')

describe.skipIf(!DIALECTS.includes('postgres'))('bun scripts/bench-capture.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpi-bench-capture-spec-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('at 20,000 conversations: every row of the section with its ratio, the rest of the report kept', async () => {
    const out = join(dir, 'BENCHMARKS.md')
    await Bun.write(out, '# Benchmarks\n\nthe main table\n\n<!-- notes -->\n## Notes\n\nkept.\n')
    const child = Bun.spawn([process.execPath, join(ROOT, 'scripts/bench-capture.ts'), '--conversations', '20000', '--duration', '1', '--rounds', '2', '--out', out], {
      cwd: ROOT,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()])
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
    const report = await Bun.file(out).text()
    expect(report).toStartWith('# Benchmarks\n\nthe main table\n')
    expect(report).toEndWith('<!-- notes -->\n## Notes\n\nkept.\n')
    const rows = report.split('\n').filter((line) => /^\| /.test(line) && !line.startsWith('| measure') && !line.startsWith('|---'))
    for (const measure of ['single-row UPDATE', 'single-row INSERT', 'UPDATE of 20,000 conversations in one statement', 'the log on disk', 'changes feed from start_time=0', 'changes feed through the log', 'renamed: all re-delivered']) {
      const row = rows.find((line) => line.includes(measure))
      expect({ measure, row: row !== undefined }).toEqual({ measure, row: true })
      const ratio = row!.split('|').slice(1, -1).map((cell) => cell.trim())[3]!
      expect({ measure, ratio: /^\d+(\.\d+)?( |$)/.test(ratio) }).toEqual({ measure, ratio: true })
    }
    // The trigger's own time a changed row: a duration, from as many updates as were asked.
    expect(rows.find((line) => line.includes("the capture's trigger on one changed conversation"))).toMatch(/\(EXPLAIN ANALYZE's trigger time, 200 updates\) \| \d+(\.\d+)? µs \(p90/)
    // Another run replaces its section, never adds another.
    const replaced = withCaptureSection(report, `${CAPTURE_START}\nnew\n${CAPTURE_END}`)
    expect(replaced.split(CAPTURE_START)).toHaveLength(2)
    expect(replaced).toContain(`${CAPTURE_START}\nnew\n${CAPTURE_END}`)
    expect(replaced).toEndWith('<!-- notes -->\n## Notes\n\nkept.\n')
  }, 240_000)
})
