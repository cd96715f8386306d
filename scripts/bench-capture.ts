// `bun scripts/bench-capture.ts [--conversations 1000000] [--duration 10] [--rounds 3] [--out BENCHMARKS.md]`
// What the change capture (the exact changes feed) costs and gives, on a throwaway PostgreSQL seeded
// as the main benchmark seeds it: the helpdesk's writes with and without its triggers (pgbench,
// single-row UPDATE and INSERT, and one bulk UPDATE; the rounds alternate, and each ratio is their
// median), what the log weighs per million changes, and the feed walked in exact mode against
// plain mode (the backfill from start_time, a walk of the log, an agent's rename re-delivered).
// Writes its section of BENCHMARKS.md (between <!-- capture --> and <!-- /capture -->), keeping the rest.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import { installCapture, removeCapture } from '../src/sync/capture.ts'
import { DEMO_TOKEN } from '../fixtures/demo-data-set.ts'
import { startService, type ServiceProcess } from '../spec/service-process.ts'
import { findPostgresBin } from './postgres.ts'
import { preparedDatabase, round, type BenchData } from './bench-kit.ts'
import { progress, say } from './progress.ts'

export const CAPTURE_START = '<!-- capture -->'
export const CAPTURE_END = '<!-- /capture -->'

/** The section of an earlier report, kept as it is (or nothing). */
export function captureSection(previous: string): string {
  const start = previous.indexOf(CAPTURE_START)
  const end = previous.indexOf(CAPTURE_END)
  return start >= 0 && end > start ? previous.slice(start, end + CAPTURE_END.length) : ''
}

/** `report` with its capture section replaced by `section` (before the notes when it had none). */
export function withCaptureSection(report: string, section: string): string {
  const old = captureSection(report)
  if (old) return report.replace(old, section)
  const notes = report.indexOf('<!-- notes -->')
  return notes >= 0 ? `${report.slice(0, notes)}${section}\n\n${report.slice(notes)}` : `${report}\n${section}\n`
}

interface Row {
  readonly what: string
  readonly with: string
  readonly without: string
  readonly ratio: string
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const spread = (values: number[]) => `${round(Math.min(...values), 2)}–${round(Math.max(...values), 2)}`

async function main() {
  const { values: flags } = parseArgs({
    options: {
      conversations: { type: 'string', default: '1000000' },
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      clients: { type: 'string', default: '4' },
      out: { type: 'string', default: join(import.meta.dir, '..', 'BENCHMARKS.md') },
    },
  })
  const N = Number(flags.conversations)
  const DURATION = Number(flags.duration)
  const ROUNDS = Number(flags.rounds)
  const CLIENTS = Number(flags.clients)
  const bin = findPostgresBin()
  if (!bin) throw new Error('PostgreSQL server binaries are missing (apt-get install -y postgresql)')
  const PGBENCH = join(bin, 'pgbench')
  const data: BenchData = { accounts: 20, vbet: 10, days: 365, anchor: new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z') }
  say(`capture benchmark: ${N} conversations; pgbench ${DURATION} s × ${ROUNDS} rounds a side, ${CLIENTS} clients`)
  const { server, pgVersion } = await preparedDatabase(N, data)
  const work = mkdtempSync(join(tmpdir(), 'kpi-bench-capture-'))
  const writer: Connection = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 3_600_000 }, { readonly: false })
  const rows: Row[] = []
  let service: ServiceProcess | undefined
  try {
    // One agent (user 2) with a tenth of the VBET conversations: the rename measured below.
    await sql.raw(`update conversations set assignee_id = 2 where account_id <= ${data.vbet} and id % 10 = 0`).execute(writer.db)
    await sql`create sequence bench_display start 1000000000`.execute(writer.db)
    await sql`vacuum analyze conversations`.execute(writer.db)

    // 1. The helpdesk's writes, without and with the triggers, in alternating rounds.
    const script = (name: string, body: string) => {
      const file = join(work, `${name}.sql`)
      writeFileSync(file, body)
      return file
    }
    const update = script('update', `\\set id random(1, ${N})\n\\set st random(0, 3)\nupdate conversations set status = :st, updated_at = now() at time zone 'utc' where id = :id;\n`)
    const insert = script(
      'insert',
      `\\set acc random(1, ${data.accounts})\ninsert into conversations (account_id, inbox_id, display_id, status, created_at, updated_at) values (:acc, 1, nextval('bench_display'), 0, now() at time zone 'utc', now() at time zone 'utc');\n`,
    )
    const tps = (file: string) => {
      const run = Bun.spawnSync([PGBENCH, '-n', '-M', 'prepared', '-c', String(CLIENTS), '-j', '2', '-T', String(DURATION), '-f', file, server.url], { stdout: 'pipe', stderr: 'pipe' })
      const output = run.stdout.toString() + run.stderr.toString()
      const value = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? 0)
      if (!value) throw new Error(`pgbench failed:\n${output}`)
      return value
    }
    const bulk = async () => {
      const started = performance.now()
      await sql.raw(`update conversations set updated_at = updated_at + interval '1 millisecond' where id <= ${Math.min(100_000, N)}`).execute(writer.db)
      return (performance.now() - started) / 1000
    }
    const samples = { update: { with: [] as number[], without: [] as number[] }, insert: { with: [] as number[], without: [] as number[] }, bulk: { with: [] as number[], without: [] as number[] } }
    /** The log's size and entries, read while the capture is installed (removing it drops the log). */
    let log = { bytes: 0, entries: 0 }
    /** The triggers' own time for one single-row UPDATE (EXPLAIN ANALYZE's trigger timing), in ms: robust to a loaded machine. */
    const triggerTimes: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      // Each round in the other order than the one before: a drift of the machine's speed falls on both sides.
      for (const installed of r % 2 === 0 ? [false, true] : [true, false]) {
        const status = progress(`round ${r + 1} of ${ROUNDS}: writes ${installed ? 'with' : 'without'} the capture`)
        if (installed) await installCapture(writer, { retentionDays: 30 })
        else await removeCapture(writer)
        const side = installed ? 'with' : 'without'
        samples.update[side].push(tps(update))
        samples.insert[side].push(tps(insert))
        samples.bulk[side].push(await bulk())
        if (installed) {
          await sql`vacuum analyze kpi_capture_log`.execute(writer.db)
          const size = (await sql<{ bytes: string; entries: string }>`select pg_total_relation_size('kpi_capture_log') as bytes, (select count(*) from kpi_capture_log) as entries`.execute(writer.db)).rows[0]!
          log = { bytes: Number(size.bytes), entries: Number(size.entries) }
          const client = new pg.Client({ connectionString: server.url })
          await client.connect()
          for (let i = 0; i < 100; i++) {
            // In a transaction rolled back: the row stays as it was.
            await client.query('begin')
            const { rows: [plan] } = await client.query(
              `explain (analyze, format json) update conversations set status = $1, updated_at = now() at time zone 'utc' where id = $2`,
              [i % 4, 1 + ((i * 7919) % N)],
            )
            await client.query('rollback')
            const triggers = (plan['QUERY PLAN'][0].Triggers ?? []) as Array<{ 'Trigger Name': string; Time: number }>
            const time = triggers.find((trigger) => trigger['Trigger Name'].startsWith('kpi_capture'))?.Time
            if (time !== undefined) triggerTimes.push(time)
          }
          await client.end()
        }
        status.end()
        say(`round ${r + 1}, capture ${installed ? 'installed' : 'removed'}: update ${round(samples.update[side].at(-1)!)} tps, insert ${round(samples.insert[side].at(-1)!)} tps, bulk ${round(samples.bulk[side].at(-1)!, 2)} s`)
      }
    }
    const ratios = (kind: 'update' | 'insert' | 'bulk') => samples[kind].with.map((value, index) => value / samples[kind].without[index]!)
    for (const [kind, what] of [
      ['update', `single-row UPDATE (status, updated_at), pgbench -M prepared, ${CLIENTS} clients`],
      ['insert', `single-row INSERT of a conversation, pgbench -M prepared, ${CLIENTS} clients`],
    ] as const) {
      rows.push({ what, with: `${round(median(samples[kind].with))} tps`, without: `${round(median(samples[kind].without))} tps`, ratio: `${round(median(ratios(kind)), 2)} (${spread(ratios(kind))})` })
    }
    rows.push({
      what: `UPDATE of ${Math.min(100_000, N).toLocaleString('en')} conversations in one statement (updated_at)`,
      with: `${round(median(samples.bulk.with), 2)} s`,
      without: `${round(median(samples.bulk.without), 2)} s`,
      ratio: `${round(median(ratios('bulk')), 2)} (${spread(ratios('bulk'))})`,
    })

    const sortedTriggers = [...triggerTimes].sort((a, b) => a - b)
    rows.push({
      what: `the capture's trigger on one changed conversation (EXPLAIN ANALYZE's trigger time, ${sortedTriggers.length} updates)`,
      with: `${round(median(sortedTriggers) * 1000)} µs (p90 ${round(sortedTriggers[Math.floor(sortedTriggers.length * 0.9)]! * 1000)} µs)`,
      without: '–',
      ratio: '–',
    })

    // 2. What the log weighs: its table and indexes, per entry, per million changes.
    const perEntry = log.bytes / Math.max(1, log.entries)
    rows.push({ what: `the log on disk (table and indexes), after ${log.entries.toLocaleString('en')} entries`, with: `${round(perEntry)} bytes an entry`, without: '–', ratio: `${round((perEntry * 1e6) / 2 ** 20)} MiB per million changes` })

    // 3. The feed: plain mode (capture removed), then exact mode (installed; a new process finds it at once).
    const walk = async (url: string, first: string) => {
      let items = 0
      let pages = 0
      let query = first
      const started = performance.now()
      let cursor = ''
      for (;;) {
        const response = await fetch(`${url}/api/v1/kpi/conversations/changes?${query}`, { headers: { api_access_token: DEMO_TOKEN } })
        if (response.status !== 200) throw new Error(`changes: ${response.status} ${await response.text()}`)
        const page = (await response.json()) as { meta: { next_cursor: string; end_of_stream: boolean; exact: boolean }; payload: unknown[] }
        items += page.payload.length
        pages++
        cursor = page.meta.next_cursor
        if (page.meta.end_of_stream) return { seconds: (performance.now() - started) / 1000, items, pages, cursor, exact: page.meta.exact }
        query = `cursor=${cursor}`
      }
    }
    const env = { DATABASE_URL: server.url, RATE_LIMIT_PER_MINUTE: '0', CURSOR_SECRET: 'bench-capture-cursor-secret-0123456789', CHANGES_LAG_SECONDS: '0' }
    const walking = progress('the feed: plain, then exact')
    await removeCapture(writer)
    service = await startService(env)
    const plain = await walk(service.url, 'start_time=0&page_size=1000')
    await service.stop()
    await installCapture(writer, { retentionDays: 30 })
    service = await startService(env)
    const exact = await walk(service.url, 'start_time=0&page_size=1000')
    walking.end()
    if (plain.exact || !exact.exact) throw new Error('the walks are not in the modes measured')
    /** Milliseconds a 1000 items. */
    const perThousand = (w: { seconds: number; items: number }) => (w.seconds * 1_000_000) / Math.max(1, w.items)
    rows.push({
      what: `changes feed from start_time=0, pages of 1000 (${exact.items.toLocaleString('en')} conversations; exact: its backfill)`,
      with: `${round(exact.seconds, 2)} s`,
      without: `${round(plain.seconds, 2)} s (plain, ${plain.items.toLocaleString('en')})`,
      ratio: `${round(perThousand(exact) / perThousand(plain), 2)} (a row against a row)`,
    })
    // The log: one change on each of a tenth of the VBET conversations, walked from where the backfill ended.
    await sql.raw(`update conversations set status = (status + 1) % 4 where account_id <= ${data.vbet} and id % 10 = 5`).execute(writer.db)
    const changes = await walk(service.url, `cursor=${exact.cursor}`)
    rows.push({
      what: `changes feed through the log: ${changes.items.toLocaleString('en')} changes (a bulk update), pages of 1000`,
      with: `${round(changes.seconds, 2)} s`,
      without: `plain walk: ${round(perThousand(plain), 1)} ms a 1000 rows`,
      ratio: `${round(perThousand(changes) / perThousand(plain), 2)} (a row against a row)`,
    })
    // An agent renamed: every conversation showing them comes again.
    await sql`update users set name = 'Agent Renamed' where id = 2`.execute(writer.db)
    const renamed = await walk(service.url, `cursor=${changes.cursor}`)
    rows.push({
      what: `an agent with ${renamed.items.toLocaleString('en')} VBET conversations renamed: all re-delivered, pages of 1000`,
      with: `${round(renamed.seconds, 2)} s`,
      without: `plain walk: ${round(perThousand(plain), 1)} ms a 1000 rows`,
      ratio: `${round(perThousand(renamed) / perThousand(plain), 2)} (a row against a row)`,
    })
  } finally {
    await service?.stop()
    await writer.destroy().catch(() => {})
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; PostgreSQL ${pgVersion} (fsync off, synchronous_commit off: a write costs less here than on a durable server, so the triggers' share is larger); Bun ${Bun.version}`
  const section = `${CAPTURE_START}
## The change capture: what the exact feed costs the helpdesk

Run: \`bun scripts/bench-capture.ts --conversations ${N}\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine}.
Writes are measured without and with the capture's triggers in ${ROUNDS} alternating rounds (${DURATION} s of pgbench each);
a ratio is the median of the rounds' ratios, with their range. The feed rows compare the service's walk in exact mode with
its walk in plain mode, a row each, in the same run.

| measure | with the capture | without | with ÷ without |
|---|---|---|---|
${rows.map((row) => `| ${row.what} | ${row.with} | ${row.without} | ${row.ratio} |`).join('\n')}
${CAPTURE_END}`
  const previous = (await Bun.file(flags.out!).exists()) ? await Bun.file(flags.out!).text() : ''
  await Bun.write(flags.out!, withCaptureSection(previous, section))
  say(section)
}

if (import.meta.main) await main()
