// The executable of `npm run build`, built once per `bun test` run (into a temporary folder, removed
// when the run ends) for the specs that run it or check what refers to it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..')
let built: Promise<string> | undefined

/**
 * The path of a freshly built executable (`bun scripts/build.ts --outfile …`).
 * @throws when the build fails, with its output.
 */
export function builtExecutable(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpi-build-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    const executable = join(dir, 'kpi-conversations')
    const build = Bun.spawn([process.execPath, join(ROOT, 'scripts/build.ts'), '--outfile', executable], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    const [code, out, err] = await Promise.all([build.exited, new Response(build.stdout).text(), new Response(build.stderr).text()])
    if (code !== 0) throw new Error(`the build failed (${code}):\n${out}${err}`)
    return executable
  })()
  return built
}
