// Starts the real service (`bun scripts/start.ts`, what `npm start` runs, unless another command is
// given: `npm start` itself, the compiled executable) as a separate process on a free port, for the
// specs that must see it as a user does: banner, exit codes, signals, real HTTP.
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..')

export interface ServiceProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** The admin listener (/metrics, /health, /ready): http://127.0.0.1:<ADMIN_PORT> */
  readonly adminUrl: string
  /** The PID of the process started (for `npm start`, npm's). */
  readonly pid: number
  /** Everything it printed so far. */
  output(): string
  /** Its exit code, once it exits. */
  readonly exited: Promise<number>
  /** SIGTERM, then its exit code. */
  stop(): Promise<number>
}

export interface Exited {
  readonly code: number
  readonly output: string
}

/** What `npm start` runs. */
export const START_COMMAND: readonly string[] = [process.execPath, join(ROOT, 'scripts/start.ts'), '--demo']

export interface StartOptions {
  /** The command line (default: what `npm start` runs). */
  readonly command?: readonly string[]
  /** In a process group of its own, as a terminal's foreground job is (a group signal is then the spec's to send). */
  readonly detached?: boolean
  /** The working directory (default: the project's root, where `npm start` runs). */
  readonly cwd?: string
}

function spawn(env: Record<string, string | undefined>, { command = START_COMMAND, detached = false, cwd = ROOT }: StartOptions = {}) {
  // Only what is given: no DATABASE_URL or PORT of the developer's shell leaks in.
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|PORT|HOST|ADMIN_|KPI_|DB_|REUSE_PORT|npm_)/.test(name)))
  return Bun.spawn([...command], {
    cwd,
    detached,
    env: { ...base, PORT: '0', ADMIN_PORT: '0', ...env } as Record<string, string>,
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

/** Starts the service and waits until it listens. */
export async function startService(
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
  options: StartOptions = {},
): Promise<ServiceProcess> {
  const child = spawn(env, options)
  let output = ''
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      output += decoder.decode(chunk.value, { stream: true })
      // One log line a request: under load keep the start (the banner) and the latest 256 KiB.
      if (output.length > 1_048_576) output = output.slice(0, 4096) + output.slice(-262_144)
    }
  }
  void read(child.stdout)
  void read(child.stderr)
  const deadline = Date.now() + timeoutMs
  let url: string | undefined
  let adminUrl = ''
  while (!url) {
    const listening = /"message":"listening","url":"([^"]+)","admin_url":"([^"]+)"/.exec(output)
    // The banner comes after the listening line; wait for it so specs can read it.
    if (listening && /Swagger UI:/.test(output)) {
      url = listening[1]
      adminUrl = listening[2]!
    }
    else if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${output}`)
    else if (Date.now() > deadline) {
      child.kill()
      throw new Error(`the service did not start within ${timeoutMs} ms:\n${output}`)
    } else await Bun.sleep(50)
  }
  return {
    url,
    adminUrl,
    pid: child.pid,
    output: () => output,
    exited: child.exited,
    async stop() {
      child.kill('SIGTERM')
      return await child.exited
    },
  }
}

/** Runs the start command and waits for it to exit (for configurations that must not start). */
export async function runServiceExpectingExit(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<Exited> {
  const child = spawn(env, options)
  const timer = setTimeout(() => child.kill(), 30_000)
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  clearTimeout(timer)
  return { code, output: out + err }
}
