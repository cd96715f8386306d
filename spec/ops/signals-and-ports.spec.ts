// How the service stops and binds when it is started as its users start it. `npm start` is npm (a
// Node process) running the service: a supervisor signals the PID it started, npm's, and that must
// stop the service (gracefully), not orphan it. A port another process listens on is an error,
// unless sharing it was asked for (REUSE_PORT=1, both sides).
import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { runServiceExpectingExit, startService, type ServiceProcess } from '../service-process.ts'

const NPM_START = ['npm', 'start'] as const

/** The processes `pid` started (Linux: /proc's list of a task's children). */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : []
}

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** True when nothing listens on the port any more: a listener without SO_REUSEPORT can take it. */
function portIsFree(port: number): boolean {
  try {
    Bun.serve({ hostname: '127.0.0.1', port, reusePort: false, fetch: () => new Response() }).stop(true)
    return true
  } catch {
    return false
  }
}

const portOf = (service: ServiceProcess) => Number(new URL(service.url).port)

const started: ServiceProcess[] = []
afterEach(async () => {
  for (const service of started.splice(0)) if (alive(service.pid)) await service.stop()
})

describe.skipIf(REMOTE_BASE_URL !== undefined)('npm start and signals', () => {
  test('npm runs the service itself, no shell between: SIGTERM to the PID npm start returned stops it gracefully, exit 0, the port free within the grace', async () => {
    const service = await startService({ SHUTDOWN_GRACE_MS: '10000' }, 60_000, { command: NPM_START })
    started.push(service)
    const [servicePid, ...others] = childrenOf(service.pid)
    expect(others).toEqual([])
    expect(commandLine(servicePid!)).toMatch(/^(\S*\/)?bun scripts\/start\.ts/)

    const signalled = Date.now()
    process.kill(service.pid, 'SIGTERM')
    const code = await Promise.race([service.exited, Bun.sleep(10_000 + 5_000).then(() => 'still running after the grace')])
    expect(code).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(10_000)
    expect(service.output()).toContain('"message":"stopping: no new connections')
    expect(service.output()).toContain('"message":"stopped"')
    expect(alive(servicePid!)).toBe(false)
    expect(portIsFree(portOf(service))).toBe(true)
  }, 60_000)

  test('Ctrl-C in a terminal (SIGINT to the foreground group: npm, which forwards it, and the service): one graceful stop, exit 0', async () => {
    const service = await startService({}, 60_000, { command: NPM_START, detached: true })
    started.push(service)
    // An export in flight, its reader paused: the stop waits for it.
    const response = await fetch(`${service.url}/api/v1/kpi/conversations?format=ndjson`, { headers: { api_access_token: DEMO_TOKEN } })
    const reader = response.body!.getReader()
    let received = (await reader.read()).value!.length
    process.kill(-service.pid, 'SIGINT')
    await Bun.sleep(500)
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received += chunk.value.length
    expect(received).toBeGreaterThan(0)
    expect(await service.exited).toBe(0)
    // The signal arrives twice (from the terminal and from npm): the stop is one, and graceful.
    expect(service.output().match(/"message":"stopping: /g)).toHaveLength(1)
    expect(service.output()).toContain('"message":"stopped"')
    expect(portIsFree(portOf(service))).toBe(true)
  }, 60_000)
})

describe.skipIf(REMOTE_BASE_URL !== undefined)('a port in use', () => {
  test('is an error: "address already in use", exit 1, nothing else listening', async () => {
    const holder = Bun.serve({ hostname: '127.0.0.1', port: 0, reusePort: false, fetch: () => new Response('the other process') })
    try {
      const { code, output } = await runServiceExpectingExit({ PORT: String(holder.port) })
      expect(code).toBe(1)
      expect(output).toContain(`address already in use: 127.0.0.1:${holder.port}`)
      expect(output).toContain('REUSE_PORT=1')
      expect(output).not.toContain('"message":"listening"')
      expect(await (await fetch(`http://127.0.0.1:${holder.port}/`)).text()).toBe('the other process')
    } finally {
      holder.stop(true)
    }
  }, 30_000)

  test('a second service on the port of a running one is refused too', async () => {
    const first = await startService()
    started.push(first)
    const { code, output } = await runServiceExpectingExit({ PORT: String(portOf(first)) })
    expect(code).toBe(1)
    expect(output).toContain('address already in use')
  }, 30_000)

  test('is shared when both ask for it (REUSE_PORT=1): both listen and answer', async () => {
    const first = await startService({ REUSE_PORT: '1' })
    started.push(first)
    const second = await startService({ REUSE_PORT: '1', PORT: String(portOf(first)) })
    started.push(second)
    expect(portOf(second)).toBe(portOf(first))
    expect((await fetch(`${first.url}/health`)).status).toBe(200)
    expect(await first.stop()).toBe(0)
    // The other still holds the port, and answers on it.
    expect((await fetch(`${second.url}/health`)).status).toBe(200)
  }, 30_000)
})
