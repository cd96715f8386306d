// A throwaway PostgreSQL cluster for the specs and benchmarks: initdb into a temporary folder (as a
// non-root user when run as root, since PostgreSQL refuses to run as root), start it on a free
// loopback port, hand out its URL, and remove it all on stop.
//   bun scripts/postgres.ts          starts one, prints its URL, stops it on Ctrl-C
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ThrowawayPostgres {
  /** postgres://kpi@127.0.0.1:<port>/postgres, trust auth, loopback only. */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  /** Stops the server and removes its folder. */
  stop(): Promise<void>
  /** Stops the server, keeping its data (to see what clients do without a database). */
  halt(): Promise<void>
  /** Starts a halted server again, on the same port. */
  resume(): Promise<void>
}

export interface ThrowawayOptions {
  /**
   * The server's time zone. Not UTC by default, so every spec run proves timestamps are read as
   * UTC whatever the server says.
   */
  readonly timezone?: string
  /** Extra `-c name=value` server settings. */
  readonly settings?: Record<string, string | number>
}

export const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with `apt-get install -y postgresql` ' +
  '(Debian/Ubuntu), or set PG_BIN to their folder, or give TEST_DATABASE_URL of a server you have.'

/** The folder of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/<n>/bin; undefined if none. */
export function findPostgresBin(env: Record<string, string | undefined> = process.env): string | undefined {
  const candidates: string[] = []
  if (env.PG_BIN) candidates.push(env.PG_BIN)
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((version) => join(root, version, 'bin')))
  }
  const onPath = Bun.which('initdb')
  if (onPath) candidates.push(join(onPath, '..'))
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

/** Runs `command` (as `asUser` when given, through runuser) and fails with its output if it fails. */
export async function run(command: string[], asUser: string | undefined): Promise<void> {
  const argv = asUser ? ['runuser', '-u', asUser, '--', ...command] : command
  const child = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe' })
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  if (code !== 0) throw new Error(`${command.join(' ')} exited ${code}:\n${out}${err}`)
}

/**
 * Starts a new cluster.
 * @throws with INSTALL_HINT when the binaries are missing, or with the server's log when it fails.
 */
export async function startThrowawayPostgres(options: ThrowawayOptions = {}): Promise<ThrowawayPostgres> {
  const bin = findPostgresBin()
  if (!bin) throw new Error(INSTALL_HINT)
  const user = await serverUser()
  const dataDir = mkdtempSync(join(tmpdir(), 'kpi-pg-'))
  if (user) await run(['chown', user, dataDir], undefined)

  await run([join(bin, 'initdb'), '-D', dataDir, '-U', 'kpi', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], user)
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: 200,
    timezone: options.timezone ?? 'Asia/Yerevan',
    ...options.settings,
  }
  const pgCtl = (...args: string[]) => run([join(bin, 'pg_ctl'), '-D', dataDir, ...args], user)
  let started: ThrowawayPostgres | undefined
  // Another process may take the free port between our look and the server's bind: try again.
  for (let attempt = 1; attempt <= 3 && !started; attempt++) {
    const port = await freePort()
    const flags = [`-p ${port}`, ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`)].join(' ')
    const start = () => pgCtl('-o', flags, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start')
    try {
      await start()
      started = {
        url: `postgres://kpi@127.0.0.1:${port}/postgres`,
        port,
        dataDir,
        async stop() {
          await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {})
          rmSync(dataDir, { recursive: true, force: true })
        },
        halt: () => pgCtl('-m', 'fast', '-w', 'stop'),
        resume: start,
      }
    } catch (error) {
      if (attempt === 3) {
        const log = await Bun.file(join(dataDir, 'server.log')).text().catch(() => '')
        rmSync(dataDir, { recursive: true, force: true })
        throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`)
      }
    }
  }
  return started!
}

/** Who runs database servers and poolers here: the postgres (or nobody) user when we are root, else ourselves. */
export async function serverUser(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined
  return (await userExists('postgres')) ? 'postgres' : 'nobody'
}

async function userExists(name: string): Promise<boolean> {
  const child = Bun.spawn(['id', '-u', name], { stdout: 'ignore', stderr: 'ignore' })
  return (await child.exited) === 0
}

if (import.meta.main) {
  const server = await startThrowawayPostgres()
  console.log(`PostgreSQL is running: ${server.url}\n(Ctrl-C stops it and removes ${server.dataDir})`)
  const stop = async () => {
    await server.stop()
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // A timer keeps the process alive until a signal; a bare never-settling promise made Bun spin a
  // core at 90% when run without a terminal (in the background).
  setInterval(() => {}, 1 << 30)
}
