// The benchmark's limit (scripts/bench-replay.ts): the statements the service sends for a page are
// captured from its own app, in the stages it runs them (two at once where it runs two at once), and
// replayed through libpq, through pg and by pgbench, on a real PostgreSQL. No time is judged here.
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Capturer, PgReplayer, pgbenchPoolScript, pgbenchSerialLatencies, Replayer, stagesOf } from '../../scripts/bench-replay.ts'
import { findPostgresBin } from '../../scripts/postgres.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'
import { DIALECTS, useDatabase } from '../setup.ts'

describe('stagesOf', () => {
  const at = (text: string, start: number, end: number) => ({ text, values: [], start, end })
  test('statements sent while others of their stage still ran join it; one sent after an end opens the next', () => {
    const stages = stagesOf([at('token', 0, 1), at('allowlist', 1.2, 2), at('ids', 2.15, 2.6), at('count', 2.1, 5), at('rows', 5.1, 6), at('labels', 5.12, 5.9)])
    expect(stages.map((stage) => stage.map((statement) => statement.text))).toEqual([['token'], ['allowlist'], ['count', 'ids'], ['rows', 'labels']])
  })
})

describe.skipIf(!DIALECTS.includes('postgres'))('the service\'s statements, captured and replayed [postgres]', () => {
  const ctx = useDatabase('postgres')
  const url = () => (ctx.database.config as { url: string }).url

  test('a page: the token with the allowlist, then the count beside the page whole (ids, rows, labels); each replay runs them', async () => {
    const capturer = new Capturer(url(), TOKENS.kpiTracker)
    const stages = await capturer.capture('/api/v1/kpi/conversations?page_size=5&since=0&until=4102444799').finally(() => capturer.close())
    expect(stages.map((stage) => stage.length)).toEqual([1, 2])
    expect(stages[0]![0]!.text).toContain('"access_tokens"')
    expect(stages[0]![0]!.text).toContain('"installation_configs"')
    expect(stages[0]![0]!.values).toContain(TOKENS.kpiTracker)
    const second = stages[1]!.map((statement) => statement.text)
    expect(second.join(' ')).toContain('count(*)')
    expect(second.join(' ')).toContain('"taggings"')
    // Parameters as pg sent them: text, the accounts as one array literal.
    for (const statement of stages.flat()) for (const value of statement.values) expect(typeof value).toBe('string')
    expect(stages[1]!.some((statement) => statement.values.some((value) => /^\{\d+(,\d+)*\}$/.test(value!)))).toBe(true)

    const replayer = new Replayer(url(), 2)
    try {
      expect(replayer.run(stages)).toBeGreaterThan(0)
      expect(() => replayer.run([[{ text: 'select * from no_such_table', values: [] }]])).toThrow(/no_such_table/)
    } finally {
      replayer.close()
    }
    const viaPg = new PgReplayer(url(), 2)
    expect(await viaPg.run(stages).finally(() => viaPg.close())).toBeGreaterThan(0)

    const bin = findPostgresBin()
    const workDir = mkdtempSync(join(tmpdir(), 'kpi-replay-spec-'))
    try {
      const latencies = pgbenchSerialLatencies({ bin: join(bin!, 'pgbench'), url: url(), workDir }, stages, 3, 1)
      expect(latencies).toHaveLength(3)
      for (const ms of latencies) expect(ms).toBeGreaterThan(0)
    } finally {
      rmSync(workDir, { recursive: true, force: true })
    }
  }, 30_000)

  test("pgbench's script binds every parameter from a variable, a request picked at random", () => {
    const { script, defines } = pgbenchPoolScript([[[{ text: 'select $1::int, $2::text', values: ['7', 'a b'] }]], [[{ text: 'select $1::int', values: ['8'] }]]])
    expect(script).toBe('\\set request random(0, 1)\n\\if :request = 0\nselect :r0_0_1::int, :r0_0_2::text;\n\\elif :request = 1\nselect :r1_0_1::int;\n\\endif\n')
    expect(defines).toEqual(['-D', 'r0_0_1=7', '-D', 'r0_0_2=a b', '-D', 'r1_0_1=8'])
  })
})
