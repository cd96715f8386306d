// `bun scripts/bench-start.ts [--rounds 9] [--executable PATH] [--out BENCHMARKS.md]`
// The executable of `npm run build` against `npm start`, both serving the same throwaway PostgreSQL:
// what each needs on disk, the time from the start of the process to the first 200 of /ready, and
// resident memory once ready. Rounds alternate which goes first, so a drift of this shared machine
// falls on both; each round gives a ratio (executable ÷ npm start), reported as a median and a
// range. Writes its section of BENCHMARKS.md (between the start markers; the rest is kept).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { demoDataSet } from '../fixtures/demo-data-set.ts'
import { insertDataSet } from '../fixtures/insert.ts'
import { writeMarkedSection } from './bench-report.ts'
import { rssMegabytes } from './load.ts'
import { startThrowawayPostgres } from './postgres.ts'
import { progress, say } from './progress.ts'

const ROOT = join(import.meta.dir, '..')
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    executable: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'BENCHMARKS.md') },
  },
})
const ROUNDS = Number(flags.rounds)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a positive integer')
const BEGIN = '<!-- start:begin (written by scripts/bench-start.ts) -->'
const END = '<!-- start:end -->'

/** Bytes under a folder (files only, links not followed). */
function bytesUnder(path: string): number {
  let total = 0
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name)
    if (entry.isDirectory()) total += bytesUnder(full)
    else if (entry.isFile()) total += statSync(full).size
  }
  return total
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

interface Start {
  /** From spawn to the first 200 of /ready. */
  readonly ms: number
  /** Resident memory once ready: the service, and everything started (npm and the service). */
  readonly serviceMb: number
  readonly totalMb: number
}

/** Starts `command`, waits for /ready, reads memory, stops it with SIGTERM. */
async function startOnce(command: string[], env: Record<string, string>): Promise<Start> {
  const port = await freePort()
  const started = performance.now()
  const child = Bun.spawn(command, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port), ADMIN_PORT: '0' }, stdout: 'ignore', stderr: 'pipe' })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}: ${await new Response(child.stderr).text()}`)
      const ready = await fetch(`http://127.0.0.1:${port}/ready`).then((response) => response.status === 200, () => false)
      if (ready) break
      await Bun.sleep(2)
    }
    const ms = performance.now() - started
    // npm start: npm's one child is the service (it execs); the executable is the service itself.
    const kids = (await Bun.file(`/proc/${child.pid}/task/${child.pid}/children`).text().catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number)
    const servicePid = kids[0] ?? child.pid
    const serviceMb = rssMegabytes(servicePid)
    const totalMb = servicePid === child.pid ? serviceMb : serviceMb + rssMegabytes(child.pid)
    return { ms, serviceMb, totalMb }
  } finally {
    child.kill('SIGTERM')
    await child.exited
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const range = (values: number[], digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`

const work = mkdtempSync(join(tmpdir(), 'kpi-bench-start-'))
const server = await startThrowawayPostgres()
try {
  let executable = flags.executable
  if (!executable) {
    executable = join(work, 'kpi-conversations')
    const building = progress('building the executable')
    const build = Bun.spawn([process.execPath, join(ROOT, 'scripts/build.ts'), '--outfile', executable], { cwd: ROOT, stdout: 'ignore', stderr: 'inherit' })
    if ((await build.exited) !== 0) throw new Error('the build failed')
    building.end()
  }
  const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 }, { readonly: false })
  await migrateToLatest(writer)
  await insertDataSet(writer, demoDataSet({ conversations: 2000 }))
  await writer.destroy()

  const env = { DATABASE_URL: server.url, CURSOR_SECRET: 'bench-start-secret-0123456789abcdef' }
  const commands = { executable: [executable], 'npm start': ['npm', 'start'] } as const
  type Name = keyof typeof commands
  const results: Record<Name, Start[]> = { executable: [], 'npm start': [] }
  // One start of each, not counted: the file system's caches hold both afterwards.
  for (const name of Object.keys(commands) as Name[]) await startOnce([...commands[name]], env)
  const rounds = progress('starting each, in alternating order', ROUNDS)
  for (let round = 0; round < ROUNDS; round++) {
    const order: Name[] = round % 2 === 0 ? ['executable', 'npm start'] : ['npm start', 'executable']
    for (const name of order) results[name].push(await startOnce([...commands[name]], env))
    rounds.update(round + 1)
  }
  rounds.end()

  const ms = (name: Name) => results[name].map((start) => start.ms)
  const ratios = results.executable.map((start, index) => start.ms / results['npm start'][index]!.ms)
  const sizeMb = statSync(executable).size / 1_048_576
  const cloneMb = bytesUnder(join(ROOT, 'node_modules')) / 1_048_576
  const row = (name: Name, size: string) => {
    const starts = results[name]
    return `| ${name} | ${size} | ${median(ms(name)).toFixed(0)} ms (${range(ms(name))}) | ${median(starts.map((s) => s.serviceMb)).toFixed(0)} MB | ${median(starts.map((s) => s.totalMb)).toFixed(0)} MB |`
  }
  const section = `${BEGIN}
## The executable against \`npm start\`

Run: \`bun scripts/bench-start.ts --rounds ${ROUNDS}\` on ${new Date().toISOString().slice(0, 10)}. Both serve the same throwaway PostgreSQL
(2,000 conversations); a start is timed from the process's spawn to the first 200 of \`/ready\` (the database pinged), then
stopped with SIGTERM; ${ROUNDS} rounds after one start of each not counted, alternating which goes first.

| | on disk | start to \`/ready\`, median (range) | resident once ready: the service | all its processes |
|---|---|---|---|---|
${row('executable', `${sizeMb.toFixed(1)} MiB, one file`)}
${row('npm start', `${cloneMb.toFixed(0)} MiB of node_modules (and Node.js, npm)`)}

Executable ÷ npm start, round by round: ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}, range ${range(ratios, 2)}).
\`npm start\` is two processes: npm (Node.js) stays up beside the service it started, to pass signals on.
${END}`
  await writeMarkedSection(flags.out!, BEGIN, END, section)
  say(`written to ${flags.out}: executable ÷ npm start to /ready = ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)})`)
} finally {
  await server.stop()
  rmSync(work, { recursive: true, force: true })
}
