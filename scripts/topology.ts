// The parts of a real deployment, for the topology specs: a hot standby of a throwaway PostgreSQL
// (pg_basebackup -c fast -R) and PgBouncer in front of it (deploy/pgbouncer.ini). Each runs as the
// postgres user when we are root (neither runs as root), on free loopback ports, in a temporary
// folder removed on stop.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findPostgresBin, freePort, run, serverUser, type ThrowawayPostgres } from './postgres.ts'

const ROOT = join(import.meta.dir, '..')

export interface Standby {
  readonly url: string
  readonly port: number
  /** Ends recovery: the standby becomes a primary. */
  promote(): Promise<void>
  stop(): Promise<void>
}

/**
 * A streaming hot standby of `primary`, cancelling conflicting queries at once
 * (max_standby_streaming_delay = 0), as a busy standby does.
 */
export async function startStandby(primary: ThrowawayPostgres, settings: Record<string, string | number> = {}): Promise<Standby> {
  const bin = findPostgresBin()
  if (!bin) throw new Error('PostgreSQL server binaries are missing (apt-get install -y postgresql)')
  const user = await serverUser()
  const parent = mkdtempSync(join(tmpdir(), 'kpi-standby-'))
  const dataDir = join(parent, 'data')
  if (user) await run(['chown', user, parent], undefined)
  // -c fast: an immediate checkpoint (without it, pg_basebackup waits for the next one, minutes).
  await run([join(bin, 'pg_basebackup'), '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'kpi', '-D', dataDir, '-R', '-c', 'fast', '-X', 'stream'], user)
  const port = await freePort()
  const all: Record<string, string | number> = {
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: parent,
    hot_standby: 'on',
    // At least the primary's (the throwaway cluster's 200), or recovery refuses to start.
    max_connections: 200,
    max_standby_streaming_delay: 0,
    max_standby_archive_delay: 0,
    hot_standby_feedback: 'off',
    ...settings,
  }
  const flags = Object.entries(all).map(([name, value]) => `-c ${name}=${value}`).join(' ')
  const pgCtl = (...args: string[]) => run([join(bin, 'pg_ctl'), '-D', dataDir, ...args], user)
  await pgCtl('-o', flags, '-l', join(parent, 'server.log'), '-w', '-t', '60', 'start')
  return {
    url: `postgres://kpi@127.0.0.1:${port}/postgres`,
    port,
    promote: () => pgCtl('-w', 'promote'),
    async stop() {
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {})
      rmSync(parent, { recursive: true, force: true })
    },
  }
}

export interface PgBouncer {
  readonly port: number
  /** postgres://kpi@127.0.0.1:<port>/<database of deploy/pgbouncer.ini> */
  url(database: 'kpi' | 'kpi_primary'): string
  log(): Promise<string>
  stop(): Promise<void>
}

/** What a spec changes of deploy/pgbouncer.ini: settings of [pgbouncer], more [databases] entries, more users. */
export interface PgBouncerOverrides {
  readonly settings?: Readonly<Record<string, string | number>>
  readonly databases?: Readonly<Record<string, string>>
  readonly users?: readonly string[]
}

/** PgBouncer with deploy/pgbouncer.ini: transaction pooling, default settings, `kpi` the standby. */
export async function startPgBouncer(ports: { readonly standby: number; readonly primary: number }, overrides: PgBouncerOverrides = {}): Promise<PgBouncer> {
  const user = await serverUser()
  const dir = mkdtempSync(join(tmpdir(), 'kpi-pgbouncer-'))
  if (user) await run(['chown', user, dir], undefined)
  const port = await freePort()
  const template = await Bun.file(join(ROOT, 'deploy', 'pgbouncer.ini')).text()
  let ini = template
    .replaceAll('@STANDBY_PORT@', String(ports.standby))
    .replaceAll('@PRIMARY_PORT@', String(ports.primary))
    .replaceAll('@PORT@', String(port))
    .replaceAll('@DIR@', dir)
  for (const [name, value] of Object.entries(overrides.settings ?? {})) {
    const line = new RegExp(`^${name} = .*$`, 'm')
    ini = line.test(ini) ? ini.replace(line, `${name} = ${value}`) : ini.replace('[pgbouncer]\n', `[pgbouncer]\n${name} = ${value}\n`)
  }
  for (const [name, target] of Object.entries(overrides.databases ?? {})) ini = ini.replace('[databases]\n', `[databases]\n${name} = ${target}\n`)
  await Bun.write(join(dir, 'pgbouncer.ini'), ini)
  await Bun.write(join(dir, 'userlist.txt'), [...new Set(['kpi', ...(overrides.users ?? [])])].map((user) => `"${user}" ""\n`).join(''))
  if (user) await run(['chown', '-R', user, dir], undefined)
  const argv = [Bun.which('pgbouncer') ?? '/usr/sbin/pgbouncer', join(dir, 'pgbouncer.ini')]
  const child = Bun.spawn(user ? ['runuser', '-u', user, '--', ...argv] : argv, { stdout: 'ignore', stderr: 'pipe' })
  const deadline = Date.now() + 15_000
  for (;;) {
    const probe = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then((socket) => (socket.end(), true), () => false)
    if (probe) break
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`PgBouncer did not start:\n${await new Response(child.stderr).text()}`)
    await Bun.sleep(50)
  }
  return {
    port,
    url: (database) => `postgres://kpi@127.0.0.1:${port}/${database}`,
    log: () => Bun.file(join(dir, 'pgbouncer.log')).text().catch(() => ''),
    async stop() {
      child.kill()
      await child.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface Redis {
  readonly url: string
  readonly port: number
  /** Stops the server, keeping its port (to see what clients do without it). */
  halt(): Promise<void>
  /** Starts a halted server again, on the same port. */
  resume(): Promise<void>
  /** SIGSTOP: the server hangs (connections accepted by the kernel, nothing answered), as under a stall. */
  freeze(): void
  /** SIGCONT: a frozen server answers again, what waited first. */
  thaw(): void
  stop(): Promise<void>
}

/** A throwaway Redis (Debian's redis-server), in memory only, on a free loopback port. */
export async function startRedis(): Promise<Redis> {
  const port = await freePort()
  const binary = Bun.which('redis-server') ?? '/usr/bin/redis-server'
  let child: ReturnType<typeof Bun.spawn> | undefined
  const start = async () => {
    child = Bun.spawn([binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
    const deadline = Date.now() + 10_000
    for (;;) {
      const up = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then((socket) => (socket.end(), true), () => false)
      if (up) return
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`)
      await Bun.sleep(30)
    }
  }
  const halt = async () => {
    child?.kill('SIGKILL')
    await child?.exited
    child = undefined
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, halt, resume: start, freeze: () => child?.kill('SIGSTOP'), thaw: () => child?.kill('SIGCONT'), stop: halt }
}

export interface HAProxy {
  readonly url: string
  stop(): Promise<void>
}

/** HAProxy with deploy/haproxy.cfg in front of these instances (http://host:port each), checked every 300 ms. */
export async function startHAProxy(instances: readonly string[]): Promise<HAProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'kpi-haproxy-'))
  const port = await freePort()
  const servers = instances
    .map((url, index) => `    server instance${index + 1} ${new URL(url).host} check inter 300ms fall 2 rise 1`)
    .join('\n')
  const template = await Bun.file(join(ROOT, 'deploy', 'haproxy.cfg')).text()
  await Bun.write(join(dir, 'haproxy.cfg'), template.replaceAll('@PORT@', String(port)).replace('@SERVERS@', servers))
  const binary = Bun.which('haproxy') ?? '/usr/sbin/haproxy'
  const child = Bun.spawn([binary, '-f', join(dir, 'haproxy.cfg'), '-db'], { stdout: 'pipe', stderr: 'pipe' })
  const url = `http://127.0.0.1:${port}`
  // Up when every instance passed its first health check and answers through it.
  const deadline = Date.now() + 20_000
  const seen = new Set<string>()
  while (seen.size < instances.length) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill()
      throw new Error(`HAProxy did not serve every instance (saw ${[...seen].join(', ') || 'none'}):\n${await new Response(child.stderr).text()}`)
    }
    const answer = await fetch(`${url}/health`).catch(() => undefined)
    const server = answer?.headers.get('x-served-by')
    if (answer?.status === 200 && server) seen.add(server)
    else await Bun.sleep(100)
  }
  return {
    url,
    async stop() {
      child.kill()
      await child.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
