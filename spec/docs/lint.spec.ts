// The API document as integrators' tools see it: Redocly's recommended ruleset and Spectral's
// spectral:oas (both as dev dependencies, configured in redocly.yaml and .spectral.yaml) find
// nothing in openapi.json: no error, no warning, no hint. A new finding fails the suite.
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { OPENAPI_FILE } from '../../scripts/openapi.ts'

const ROOT = join(import.meta.dir, '../..')
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)

async function run(command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // No telemetry or update checks: CI has no route to them, and they would only slow the run.
  const child = Bun.spawn(command, { cwd: ROOT, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, stdout: 'pipe', stderr: 'pipe' })
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, stdout, stderr }
}

describe('openapi.json under the linters integrators run', () => {
  test('Redocly (recommended): zero errors, zero warnings', async () => {
    const { code, stdout, stderr } = await run([bin('redocly'), 'lint', OPENAPI_FILE, '--format=json'])
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> }
    expect({ totals: report.totals, problems: report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`) }).toEqual({
      totals: expect.objectContaining({ errors: 0, warnings: 0 }),
      problems: [],
    })
    expect([code, stderr.includes('Error')]).toEqual([0, false])
  }, 60_000)

  test('Spectral (spectral:oas): no finding of any severity', async () => {
    const { code, stdout } = await run([bin('spectral'), 'lint', OPENAPI_FILE, '--format=json', '--fail-severity=hint', '--quiet'])
    const findings = stdout.trim() === '' ? [] : (JSON.parse(stdout) as Array<{ code: string; message: string; path: string[] }>)
    expect(findings.map((finding) => `${finding.code}: ${finding.message} at ${finding.path.join('.')}`)).toEqual([])
    expect(code).toBe(0)
  }, 60_000)
})
