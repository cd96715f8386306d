// Runs the contract suite in remote mode (`bun test spec/contract` with KPI_BASE_URL), as an
// integrator runs it against a deployment, for the specs that point it at a real process: the
// service from source, the compiled executable, a balanced topology, a broken proxy.
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..')

export interface SuiteRun {
  readonly code: number
  readonly output: string
}

/** `bun test spec/contract` against `baseUrl` with `env` (KPI_TOKEN and the optional inputs); nothing of this run's own KPI_, database or dialect settings. */
export async function runRemoteSuite(baseUrl: string, env: Record<string, string>): Promise<SuiteRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(KPI_|TEST_DATABASE_URL|DIALECTS)/.test(name)))
  const child = Bun.spawn([process.execPath, 'test', 'spec/contract'], {
    cwd: ROOT,
    env: { ...base, KPI_BASE_URL: baseUrl, ...env } as Record<string, string>,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, output: out + err }
}

/** The closing count of `bun test` (` 12 pass`), or -1 without one. */
export function suiteCount(output: string, word: 'pass' | 'fail' | 'skip'): number {
  return Number(new RegExp(`^\\s*(\\d+) ${word}$`, 'm').exec(output)?.[1] ?? -1)
}
