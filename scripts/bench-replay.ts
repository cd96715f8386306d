// The database's own time for what the service sends, the limit of the benchmark's "same SQL" rows.
// A request's statements are captured as the service sends them: the app (createApp, the route
// and its service) runs in this process on a connection that records every statement with its
// parameters and when it ran, its caches off, so nothing is skipped. Statements that ran at the
// same time (the service runs some two at once, on two connections) form a stage. The stages are
// then replayed through libpq, the C library pgbench and psql use, loaded with bun:ffi: each text
// prepared once per connection (as the service's are, and pgbench -M prepared), each stage's
// statements sent at once on connections of their own and waited for together, each stage after
// the one before. The time is taken around blocking libpq calls: no event loop, no JavaScript
// driver, no rows decoded, so what the service adds to it (its driver included) is its own cost.
// pgbench cannot send two statements of one transaction at once on two connections, hence libpq
// here; scripts/bench.ts checks this replay against pgbench on the same statements run one after
// the other (the "serial" figure) and uses pgbench itself for the throughput row.
import { dlopen, FFIType, ptr, type Pointer } from 'bun:ffi'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import pgUtils from 'pg/lib/utils.js'
import { createApp } from '../src/app.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { DEFAULT_KPI_TRACKER_EMAIL } from '../src/config.ts'

/** One statement as the service sent it: its text and its parameters as the text pg sent. */
export interface Statement {
  readonly text: string
  readonly values: readonly (string | null)[]
}

/** A request's statements in the order they ran; the statements of a stage ran at once. */
export type Stages = readonly (readonly Statement[])[]

interface Timed extends Statement {
  readonly start: number
  readonly end: number
}

/** Consecutive captures of one request must agree on the stages; a connection still opening can blur one. */
const CAPTURE_ATTEMPTS = 5

/**
 * Captures the statements the service sends, request by request: the app itself (createApp, as
 * the server builds it) in this process, its caches off (each request reads what it needs), on a
 * connection that records every statement.
 */
export class Capturer {
  #timed: Timed[] = []
  readonly #connection
  readonly #app

  constructor(url: string, private readonly token: string) {
    this.#connection = openDatabase(
      { dialect: 'postgres', url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 },
      {
        readonly: true,
        // Kysely says how long a statement took once it has; it began that long ago.
        onQuery: (text, parameters, durationMs) => {
          const end = performance.now()
          this.#timed.push({ text, values: parameters.map(sentText), start: end - durationMs, end })
        },
      },
    )
    this.#app = createApp({ connection: this.#connection, config: { kpiTrackerEmail: DEFAULT_KPI_TRACKER_EMAIL, countCacheTtlMs: 0, tokenCacheTtlMs: 0, pageBoundaryTtlMs: 0 } })
  }

  /**
   * The statements the service sends for `path` (with its query), in stages as they ran.
   * @throws when the answer is not 200, or when the stages differ from one capture to the next.
   */
  async capture(path: string): Promise<Stages> {
    let previous: string | undefined
    for (let attempt = 1; ; attempt++) {
      this.#timed = []
      const response = await this.#app.handle(new Request(`http://bench${path}`, { headers: { api_access_token: this.token } }))
      if (response.status !== 200) throw new Error(`capture of ${path}: ${response.status} ${await response.text()}`)
      await response.arrayBuffer()
      const stages = stagesOf(this.#timed)
      const shape = JSON.stringify(stages.map((stage) => stage.map((statement) => statement.text).sort()))
      // Two captures in a row that agree (the pool's connections are open by the second).
      if (shape === previous) return stages
      if (attempt === CAPTURE_ATTEMPTS) throw new Error(`capture of ${path}: the service's stages differ from one request to the next`)
      previous = shape
    }
  }

  close(): Promise<void> {
    return this.#connection.destroy()
  }
}

/** A parameter as pg sends it (its own conversion), so a replay sends the very same text. */
function sentText(value: unknown): string | null {
  const text = pgUtils.prepareValue(value)
  if (text !== null && typeof text !== 'string') throw new Error('a binary parameter: the replay sends text only')
  return text
}

/** The statements the service sends for `path`, captured once (see Capturer). */
export async function captureRequest(url: string, token: string, path: string): Promise<Stages> {
  const capturer = new Capturer(url, token)
  try {
    return await capturer.capture(path)
  } finally {
    await capturer.close()
  }
}

/**
 * Statements grouped as they ran: one joins the stage being formed while it began before any
 * statement of that stage had ended (it was sent while they were still running), else it opens
 * the next stage.
 */
export function stagesOf(timed: readonly Timed[]): Stages {
  const stages: Timed[][] = []
  for (const statement of [...timed].sort((a, b) => a.start - b.start)) {
    const current = stages.at(-1)
    if (current && statement.start < Math.min(...current.map((other) => other.end))) current.push(statement)
    else stages.push([statement])
  }
  return stages.map((stage) => stage.map(({ text, values }) => ({ text, values })))
}

const PGRES_COMMAND_OK = 1
const PGRES_TUPLES_OK = 2
const CONNECTION_OK = 0

let libpq: ReturnType<typeof openLibpq> | undefined

/** libpq's functions the replay calls. @throws when libpq is not installed. */
function openLibpq() {
  const { ptr: p, cstring, i32, void: none } = FFIType
  try {
    return dlopen('libpq.so.5', {
      PQconnectdb: { args: [p], returns: p },
      PQstatus: { args: [p], returns: i32 },
      PQerrorMessage: { args: [p], returns: cstring },
      PQprepare: { args: [p, p, p, i32, p], returns: p },
      PQsendQueryPrepared: { args: [p, p, i32, p, p, p, i32], returns: i32 },
      PQgetResult: { args: [p], returns: p },
      PQresultStatus: { args: [p], returns: i32 },
      PQresultErrorMessage: { args: [p], returns: cstring },
      PQclear: { args: [p], returns: none },
      PQfinish: { args: [p], returns: none },
    }).symbols
  } catch (error) {
    throw new Error('libpq.so.5 could not be loaded: apt-get install -y libpq5 (postgresql-client brings it)', { cause: error })
  }
}

/** A NUL-terminated C string (kept alive by the caller while libpq may read it). */
const cString = (text: string) => Buffer.from(`${text}\0`, 'utf8')

/** A statement ready to send: its name on the connections and its parameters as a C array, built once. */
interface Prepared {
  readonly name: Buffer
  readonly text: Buffer
  readonly count: number
  readonly values: BigUint64Array
  /** The buffers the array points into: held here so they live as long as it does. */
  readonly held: readonly Buffer[]
}

/**
 * Replays stages through libpq on `width` connections of its own (the widest stage's statements
 * each on their own connection), opened with the service's session settings (read-only).
 */
export class Replayer {
  readonly #pq = (libpq ??= openLibpq())
  readonly #connections: Pointer[] = []
  /** Which statement names each connection has prepared. */
  readonly #preparedOn: Set<string>[] = []
  readonly #statements = new Map<string, Prepared>()

  /** @throws when libpq is missing or a connection fails. */
  constructor(url: string, width = 2) {
    for (let index = 0; index < width; index++) {
      const conninfo = cString(`${url}${url.includes('?') ? '&' : '?'}application_name=kpi-bench-replay&options=-c%20default_transaction_read_only%3Don`)
      const connection = this.#pq.PQconnectdb(ptr(conninfo)) as Pointer | null
      if (!connection || this.#pq.PQstatus(connection) !== CONNECTION_OK) throw new Error(`libpq: ${connection ? String(this.#pq.PQerrorMessage(connection)) : 'out of memory'}`)
      this.#connections.push(connection)
      this.#preparedOn.push(new Set())
    }
  }

  /**
   * One request: every stage in turn, its statements sent at once and waited for together.
   * Milliseconds, from the first statement sent to the last result read.
   * @throws when a statement fails, or a stage is wider than the connections.
   */
  run(stages: Stages): number {
    for (const stage of stages) if (stage.length > this.#connections.length) throw new Error(`a stage of ${stage.length} statements, ${this.#connections.length} connections`)
    const plan = stages.map((stage) => stage.map((statement, index) => this.#prepare(statement, index)))
    const started = performance.now()
    for (const stage of plan) {
      stage.forEach((statement, index) => this.#send(index, statement))
      stage.forEach((_, index) => this.#drain(index))
    }
    return performance.now() - started
  }

  close(): void {
    for (const connection of this.#connections.splice(0)) this.#pq.PQfinish(connection)
  }

  /** `statement` prepared on connection `index` (once per text and connection; outside any timing when the caller warms up). */
  #prepare(statement: Statement, index: number): Prepared {
    const key = `${statement.text}\u0000${JSON.stringify(statement.values)}`
    let prepared = this.#statements.get(key)
    if (!prepared) {
      const held = statement.values.map((value) => (value === null ? Buffer.alloc(0) : cString(value)))
      const values = new BigUint64Array(held.map((buffer, at) => (statement.values[at] === null ? 0n : BigInt(ptr(buffer)))))
      const name = `kpi_replay_${new Bun.CryptoHasher('sha256').update(statement.text).digest('hex').slice(0, 24)}`
      prepared = { name: cString(name), text: cString(statement.text), count: statement.values.length, values, held }
      this.#statements.set(key, prepared)
    }
    const names = this.#preparedOn[index]!
    const name = prepared.name.toString('utf8', 0, prepared.name.length - 1)
    if (!names.has(name)) {
      const result = this.#pq.PQprepare(this.#connections[index]!, ptr(prepared.name), ptr(prepared.text), prepared.count, null) as Pointer | null
      this.#check(result, 'prepare')
      names.add(name)
    }
    return prepared
  }

  #send(index: number, statement: Prepared): void {
    const connection = this.#connections[index]!
    const values = statement.count > 0 ? ptr(statement.values) : null
    if (this.#pq.PQsendQueryPrepared(connection, ptr(statement.name), statement.count, values, null, null, 0) !== 1) {
      throw new Error(`libpq: ${String(this.#pq.PQerrorMessage(connection))}`)
    }
  }

  /** Reads connection `index`'s results to the end (libpq blocks until each has arrived). */
  #drain(index: number): void {
    const connection = this.#connections[index]!
    for (let result = this.#pq.PQgetResult(connection) as Pointer | null; result; result = this.#pq.PQgetResult(connection) as Pointer | null) this.#check(result, 'statement')
  }

  #check(result: Pointer | null, what: string): void {
    if (!result) throw new Error(`libpq: ${what}: out of memory`)
    const status = this.#pq.PQresultStatus(result)
    const message = status === PGRES_TUPLES_OK || status === PGRES_COMMAND_OK ? undefined : String(this.#pq.PQresultErrorMessage(result))
    this.#pq.PQclear(result)
    if (message !== undefined) throw new Error(`libpq: ${what} failed: ${message}`)
  }
}

/**
 * The same stages through pg, the driver the service uses, in this process (a stage's statements
 * at once on connections of their own, each text a named prepared statement, as the service's
 * pool runs them): what the driver and the event loop add to the database's time, without the
 * service's own code. Milliseconds a request.
 */
export class PgReplayer {
  readonly #pool: pg.Pool
  readonly #names = new Map<string, string>()

  constructor(url: string, width = 2) {
    this.#pool = new pg.Pool({ connectionString: url, max: width, options: '-c default_transaction_read_only=on', types: { getTypeParser: () => (value: string) => value } })
  }

  async run(stages: Stages): Promise<number> {
    const started = performance.now()
    for (const stage of stages) await Promise.all(stage.map((statement) => this.#pool.query({ name: this.#nameOf(statement.text), text: statement.text, values: [...statement.values] })))
    return performance.now() - started
  }

  close(): Promise<void> {
    return this.#pool.end()
  }

  #nameOf(text: string): string {
    let name = this.#names.get(text)
    if (!name) this.#names.set(text, (name = `kpi_pg_replay_${this.#names.size}`))
    return name
  }
}

const PGBENCH_TPS = /tps = ([\d.]+) \(without initial connection time\)/

/**
 * A pgbench script that runs, for each transaction, one request of `pool` picked at random: that
 * request's statements one after the other (pgbench runs one statement at a time per client),
 * their parameters as pgbench variables (`-D`), so that -M prepared binds them as the service does.
 */
export function pgbenchPoolScript(pool: readonly Stages[]): { script: string; defines: string[] } {
  const defines: string[] = []
  const blocks = pool.map((stages, request) => {
    const statements = stages.flat().map((statement, index) =>
      statement.text.replace(/\$(\d+)/g, (_, n: string) => {
        const value = statement.values[Number(n) - 1]
        if (value === null || value === undefined) throw new Error('pgbench cannot bind NULL from a variable')
        const name = `r${request}_${index}_${n}`
        defines.push('-D', `${name}=${value}`)
        return `:${name}`
      }),
    )
    return `${request === 0 ? '\\if' : '\\elif'} :request = ${request}\n${statements.map((statement) => `${statement.replace(/\s+/g, ' ')};`).join('\n')}`
  })
  return { script: `\\set request random(0, ${pool.length - 1})\n${blocks.join('\n')}\n\\endif\n`, defines }
}

export interface PgbenchRun {
  readonly bin: string
  readonly url: string
  readonly workDir: string
}

/**
 * pgbench -M prepared of `pool` (pgbenchPoolScript) with `clients` clients for `seconds`, drawing
 * with `seed`: transactions (requests) a second.
 * @throws with pgbench's output when it fails.
 */
export function pgbenchPoolTps(run: PgbenchRun, pool: readonly Stages[], options: { clients: number; seconds: number; seed: number }): number {
  const { script, defines } = pgbenchPoolScript(pool)
  const file = join(run.workDir, `pool-${process.pid}-${Date.now()}.sql`)
  writeFileSync(file, script)
  const args = ['-n', '-M', 'prepared', '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), `--random-seed=${options.seed}`, ...defines, '-f', file, run.url]
  const bench = Bun.spawnSync([run.bin, ...args], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, PGOPTIONS: '-c default_transaction_read_only=on' } })
  const output = bench.stdout.toString() + bench.stderr.toString()
  const tps = Number(PGBENCH_TPS.exec(output)?.[1] ?? 0)
  if (!tps) throw new Error(`pgbench failed:\n${output.slice(0, 4000)}`)
  return tps
}

/**
 * pgbench -M prepared, one client, `transactions` times the request of `stages`, its statements
 * one after the other: each transaction's latency in ms (from pgbench's log), the warm-up's left out.
 * @throws with pgbench's output when it fails.
 */
export function pgbenchSerialLatencies(run: PgbenchRun, stages: Stages, transactions: number, warmUp = 5): number[] {
  const { script, defines } = pgbenchPoolScript([stages])
  const stamp = `serial-${process.pid}-${Date.now()}`
  const file = join(run.workDir, `${stamp}.sql`)
  writeFileSync(file, script)
  const args = ['-n', '-M', 'prepared', '-c', '1', '-t', String(transactions + warmUp), '-l', `--log-prefix=${join(run.workDir, stamp)}`, ...defines, '-f', file, run.url]
  const bench = Bun.spawnSync([run.bin, ...args], { cwd: run.workDir, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, PGOPTIONS: '-c default_transaction_read_only=on' } })
  const output = bench.stdout.toString() + bench.stderr.toString()
  if (bench.exitCode !== 0) throw new Error(`pgbench failed:\n${output.slice(0, 4000)}`)
  // The log: one line a transaction, "client transaction latency_us script epoch_s epoch_us".
  const log = readdirSync(run.workDir)
    .filter((name) => name.startsWith(`${stamp}.`) && !name.endsWith('.sql'))
    .map((name) => readFileSync(join(run.workDir, name), 'utf8'))
    .join('')
  return log
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[2]) / 1000)
    .slice(warmUp)
}
