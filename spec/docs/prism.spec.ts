// The document and the service can never drift apart silently: the remote contract suite runs
// through Prism's validating proxy (`prism proxy openapi.json <service> --errors`), which checks
// every request and every answer against openapi.json and turns any mismatch into an error the
// suite sees. Green means: no answer of the service broke the document.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'

const ROOT = join(import.meta.dir, '../..')
const demo = demoDataSet({ conversations: 1 }) // only for its account ids

interface Prism {
  readonly url: string
  log(): string
  stop(): void
}

/** Prism's validating proxy for `document` in front of `upstream`, on a free loopback port. */
async function startPrism(document: string, upstream: string): Promise<Prism> {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const child = Bun.spawn([join(ROOT, 'node_modules/.bin/prism'), 'proxy', document, upstream, '--errors', '-h', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let log = ''
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) log += decoder.decode(chunk.value, { stream: true })
  }
  void read(child.stdout as ReadableStream<Uint8Array>)
  void read(child.stderr as ReadableStream<Uint8Array>)
  const deadline = Date.now() + 60_000
  while (!log.includes('Prism is listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Prism did not start:\n${log}`)
    await Bun.sleep(100)
  }
  return { url: `http://127.0.0.1:${port}`, log: () => log, stop: () => child.kill() }
}

describe.skipIf(REMOTE_BASE_URL !== undefined)('the remote contract suite through Prism (validating proxy, --errors)', () => {
  let service: ServiceProcess
  let prism: Prism
  beforeAll(async () => {
    service = await startService({ RATE_LIMIT_PER_MINUTE: '0' })
    prism = await startPrism(join(ROOT, 'openapi.json'), service.url)
  }, 90_000)
  afterAll(async () => {
    prism?.stop()
    await service?.stop()
  })

  test('green, and Prism reports no violation of the document by any answer', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(KPI_|TEST_DATABASE_URL|DIALECTS)/.test(name)))
    const child = Bun.spawn([process.execPath, 'test', 'spec/contract'], {
      cwd: ROOT,
      env: {
        ...env,
        KPI_BASE_URL: prism.url,
        KPI_TOKEN: DEMO_TOKEN,
        KPI_VIA_VALIDATING_PROXY: '1',
        KPI_ACCOUNT_ID: String(demo.vbetAccountIds[0]),
        KPI_FOREIGN_ACCOUNT_ID: String(demo.otherAccountIds[0]),
      } as Record<string, string>,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    const output = out + err
    // Requests the document forbids, which Prism refuses itself (the suite sends them on purpose):
    // no token, a parameter off its pattern, a path the document does not have. Anything else is
    // a violation: an answer of the service that the document does not describe.
    const refusals = /errors#(UNAUTHORIZED|UNPROCESSABLE_ENTITY|NO_PATH_MATCHED_ERROR)\b/
    const problems = prism.log().split('\n').filter((line) => /violation|✖|error/i.test(line) && !refusals.test(line))
    if (code !== 0 || problems.length > 0) console.log(output.slice(-6000), '\n--- prism ---\n', problems.join('\n').slice(-4000))
    expect(problems).toEqual([])
    expect(prism.log()).toMatch(refusals) // the refusals were seen, so the filter above is not vacuous
    expect(output).toContain('[remote] contract invariants')
    expect(Number(/^\s*(\d+) fail$/m.exec(output)?.[1] ?? -1)).toBe(0)
    expect(code).toBe(0)
  }, 180_000)

  test('a document that drifted from the service is caught: an answer it does not describe is a violation', async () => {
    // The same document, except that a page's meta now requires a field the service never sends.
    const drifted = JSON.parse(await Bun.file(join(ROOT, 'openapi.json')).text())
    const meta = drifted.paths['/api/v1/kpi/conversations'].get.responses['200'].content['application/json'].schema.properties.meta
    meta.properties.next_page = { type: 'integer' }
    meta.required = [...meta.required, 'next_page']
    const dir = mkdtempSync(join(tmpdir(), 'kpi-prism-'))
    const file = join(dir, 'drifted.json')
    await Bun.write(file, JSON.stringify(drifted))
    const strict = await startPrism(file, service.url)
    try {
      const response = await fetch(`${strict.url}/api/v1/kpi/conversations?page_size=1`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(response.status).toBe(500)
      await Bun.sleep(200)
      expect(strict.log()).toContain('errors#VIOLATIONS')
      expect(((await response.json()) as { validation: Array<{ message: string }> }).validation.map((v) => v.message).join(' ')).toContain('next_page')
    } finally {
      strict.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
