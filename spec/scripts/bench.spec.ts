// `bun scripts/bench.ts` at a tiny size: every measure of the main table and the growth table is
// written, each with its ratio and the load it was measured under; the pages against the replay of
// their own statements, the throughput on the same requests both sides, seeded as given, each wrk
// thread its own seed; the head under 12 KB; the prose of an existing report (its notes) kept. No
// figure is judged here (speed is the benchmark's business, on a quiet machine): this keeps the
// instrument from rotting between the runs that regenerate BENCHMARKS.md.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { builtExecutable } from '../executable.ts'
import { threadSeed } from '../../scripts/load.ts'
import { DIALECTS } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')

describe.skipIf(!DIALECTS.includes('postgres'))('bun scripts/bench.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpi-bench-spec-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('at 20,000 conversations (and a growth size of 5,000): every row with a ratio, the load seeded as given, the head under 12 KB, the notes kept', async () => {
    const SEED = 424_242
    const out = join(dir, 'BENCHMARKS.md')
    const notes = '<!-- notes -->\n## Notes a person wrote\n\nKept as they are, | pipes | and all.\n'
    await Bun.write(out, `old table\n<!-- growth -->\nold growth\n<!-- /growth -->\n${notes}`)
    const child = Bun.spawn(
      [process.execPath, join(ROOT, 'scripts/bench.ts'), '--conversations', '20000', '--duration', '1', '--samples', '8', '--rounds', '2', '--pool', '8', '--settle', '3', '--seed', String(SEED), '--growth', '5000', '--out', out],
      { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' },
    )
    const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
    // Not a terminal: no progress (scripts/progress.ts draws only on one), lines only.
    expect(stdout).not.toContain('\r')
    const report = await Bun.file(out).text()

    const measures = [
      'page, 30 days, page_size 20: p50',
      'page, 30 days, page_size 20: p99',
      'page, 30 days, page_size 1000',
      'page, whole range, page_size 20',
      'page, whole range, page_size 1000',
      'deepest page',
      'throughput, 16 connections',
      "the peer's statements under the same load",
      'throughput as deployed',
      'service peak RSS during the throughput runs',
      'GC_INTERVAL_MS=1000',
      'CSV export (format=csv)',
      'NDJSON export (format=ndjson)',
      'service RSS after the exports',
      'full export by page number',
      'cursor export',
      'cursor export, CPU a page of 1000',
      "against the peer's OFFSET-paged export",
      'changes feed, walked',
      'metrics, 30 days',
      'one query per day per metric',
      'metrics, the whole range',
    ]
    const rows = report.split('\n').filter((line) => /^\s*\| /.test(line))
    for (const measure of measures) {
      const row = rows.find((line) => line.includes(measure))
      expect({ measure, row: row !== undefined }).toEqual({ measure, row: true })
      // Cells: measure, service, limit, ratio, peer, ratio to the peer, target, verdict, load average.
      const cells = row!.split('|').slice(1, -1).map((cell) => cell.trim())
      expect({ measure, ratio: Number.isFinite(Number(cells[3])) }).toEqual({ measure, ratio: true })
      // A row without a target (what a measure is made of) says so: its verdict is a dash.
      expect(cells[6] === '–' ? ['–'] : ['met', '**missed**']).toContain(cells[7]!)
      expect({ measure, load: /^\d+\.\d–\d+\.\d$/.test(cells[8]!) }).toEqual({ measure, load: true })
    }
    const row = (measure: string) => rows.find((line) => line.includes(measure))!
    // The pages' limit is the replay of the statements the service sent, with pgbench and pg beside it.
    for (const page of ['page, 30 days, page_size 20: p50', 'page, whole range, page_size 1000']) {
      expect(row(page)).toMatch(/its \d+ statements in \d+ stages \([\d +]+\) replayed through libpq; pgbench one after the other [\d.]+ ms; via pg in Bun [\d.]+ ms/)
      expect(row(page)).toMatch(/÷ limit by round [\d.]+, [\d.]+[ |]/)
    }
    // The throughput row: the same requests on both sides, the run's seed as given, each wrk thread its own, no cache hit.
    const throughput = row('throughput, 16 connections')
    expect(throughput).toContain(`drawn from seed ${SEED}, caches off on both sides`)
    expect(throughput).toContain(`wrk threads seeded ${threadSeed(SEED, 1)}, ${threadSeed(SEED, 2)}`)
    // Each thread draws from a seed of its own, neither the run's.
    expect(new Set([SEED, threadSeed(SEED, 1), threadSeed(SEED, 2)]).size).toBe(3)
    expect(throughput).toContain(`--random-seed ${SEED}`)
    expect(throughput).toMatch(/cache hits: count 0 of [1-9][\d,]* lookups \(0 %\), token 0 of [1-9][\d,]* lookups \(0 %\), boundary 0 of [\d,]+ lookups \(0 %\)/)
    expect(row('throughput as deployed')).toMatch(/cache hits: count [\d,]+ of [\d,]+ lookups/)
    expect(report).toContain(`load seed ${SEED} (\`--seed ${SEED}\` replays its load)`)
    // The current table and its method first, in under 12 KB.
    const head = report.slice(0, report.indexOf('<!-- growth -->'))
    expect(head).toContain('## Method')
    expect(head).toContain('](docs/benchmarks-history.md)')
    expect(new TextEncoder().encode(head).length).toBeLessThan(12 * 1024)
    // The opt-in collection's row says what it costs in CPU, the walk's split what a page costs on each side.
    expect(row('GC_INTERVAL_MS=1000')).toMatch(/ms of CPU a request without it/)
    expect(row('CPU a page of 1000')).toMatch(/database [\d.]+ ms, service [\d.]+ ms, client [\d.]+ ms/)
    // Every line of the summary names a row of the table.
    expect(stdout.match(/^(met   |MISSED|info  ) /gm)?.length).toBe(measures.length)

    expect(report).not.toContain('old table')
    expect(report).not.toContain('old growth')
    expect(report).toMatch(/^\| 5,000 \| [\d,]+ \|/m)
    expect(report.endsWith(notes)).toBe(true)
  }, 400_000)

  const haveTopology = ['haproxy', 'redis-server', 'wrk'].every((name) => Bun.which(name) ?? Bun.which(name, { PATH: '/usr/sbin:/usr/bin' }))
  test.skipIf(!haveTopology)('bun scripts/bench-instances.ts at 2,000 conversations, one sample of 1 s: both rows and the ratio, the rest kept', async () => {
    const out = join(dir, 'INSTANCES.md')
    await Bun.write(out, '# Benchmarks\n\nkept\n')
    const child = Bun.spawn(
      [process.execPath, join(ROOT, 'scripts/bench-instances.ts'), '--conversations', '2000', '--duration', '1', '--connections', '4', '--samples', '1', '--out', out],
      { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' },
    )
    const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).not.toContain('\r')
    const report = await Bun.file(out).text()
    expect(report.startsWith('# Benchmarks\n\nkept\n')).toBe(true)
    expect(report).toMatch(/^\| one instance, direct \| \d+ \(\d+–\d+\) \|/m)
    expect(report).toMatch(/^\| two instances behind HAProxy \(round robin\) \| \d+ \(\d+–\d+\) \|/m)
    expect(report).toMatch(/Two ÷ one, sample by sample: [\d.]+ \(median [\d.]+\)/)
  }, 180_000)

  test('bun scripts/bench-start.ts: the executable and npm start, to /ready, sizes and memory; the rest of the report kept', async () => {
    const out = join(dir, 'START.md')
    await Bun.write(out, '# Benchmarks\n\nkept\n')
    const child = Bun.spawn([process.execPath, join(ROOT, 'scripts/bench-start.ts'), '--rounds', '2', '--executable', await builtExecutable(), '--out', out], {
      cwd: ROOT,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).not.toContain('\r')
    const report = await Bun.file(out).text()
    expect(report.startsWith('# Benchmarks\n\nkept\n')).toBe(true)
    expect(report).toMatch(/^\| executable \| [\d.]+ MiB, one file \| \d+ ms \(\d+–\d+\) \| \d+ MB \| \d+ MB \|$/m)
    expect(report).toMatch(/^\| npm start \| \d+ MiB of node_modules .*\| \d+ ms \(\d+–\d+\) \| \d+ MB \| \d+ MB \|$/m)
    expect(report).toMatch(/round by round: [\d.]+, [\d.]+ \(median [\d.]+, range [\d.]+–[\d.]+\)/)
    // Run again: the section is replaced, not added.
    const again = Bun.spawn([process.execPath, join(ROOT, 'scripts/bench-start.ts'), '--rounds', '1', '--executable', await builtExecutable(), '--out', out], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    expect(await again.exited).toBe(0)
    expect((await Bun.file(out).text()).match(/start:begin/g)).toHaveLength(1)
  }, 180_000)
})
