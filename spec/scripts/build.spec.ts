// `npm run build`: one executable that is the whole service. Built here into a temporary folder and
// run from another one, with no project, no node_modules and no Bun beside it: it serves Swagger UI,
// the OpenAPI document and the dashboard from inside itself, refuses to start without a database unless the demo
// is asked for, reads no .env from where it starts, stops on SIGTERM, and passes the remote contract
// suite against a real PostgreSQL database.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'
import { insertDataSet } from '../../fixtures/insert.ts'
import { SWAGGER_UI_ASSETS } from '../../src/docs/swagger-assets.ts'
import { DASHBOARD_ASSETS } from '../../src/ui/dashboard-assets.ts'
import { builtExecutable } from '../executable.ts'
import { runRemoteSuite, suiteCount } from '../remote-suite.ts'
import { runServiceExpectingExit, startService, type ServiceProcess } from '../service-process.ts'
import { createTestDatabase, DIALECTS, REMOTE_BASE_URL, type TestDatabase } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')

describe.skipIf(REMOTE_BASE_URL !== undefined)('npm run build: the executable', () => {
  // Where it runs: a folder with nothing of the project in it.
  const runDir = mkdtempSync(join(tmpdir(), 'kpi-run-'))
  let executable = ''
  const started: ServiceProcess[] = []
  const start = async (env: Record<string, string | undefined>, args: string[] = []) => {
    const service = await startService(env, 60_000, { command: [executable, ...args], cwd: runDir })
    started.push(service)
    return service
  }

  beforeAll(async () => {
    executable = await builtExecutable()
  }, 120_000)
  afterAll(async () => {
    for (const service of started) await service.stop()
    rmSync(runDir, { recursive: true, force: true })
  })

  test('one file, executable', () => {
    expect(readdirSync(dirname(executable))).toEqual(['kpi-conversations'])
    expect(statSync(executable).mode & 0o111).toBe(0o111)
  })

  test('without DATABASE_URL and without --demo: exit 1, saying what to set', async () => {
    const { code, output } = await runServiceExpectingExit({ DATABASE_URL: undefined }, { command: [executable], cwd: runDir })
    expect(code).toBe(1)
    expect(output).toContain('DATABASE_URL is not set: nothing to serve')
  }, 30_000)

  test('reads no .env from the folder it starts in: its configuration is its environment', async () => {
    await Bun.write(join(runDir, '.env'), 'DATABASE_URL=sqlite:/nonexistent/from-dotenv.sqlite\nPORT=eighty\n')
    try {
      const { code, output } = await runServiceExpectingExit({ DATABASE_URL: undefined }, { command: [executable], cwd: runDir })
      expect(code).toBe(1)
      expect(output).toContain('DATABASE_URL is not set')
      expect(output).not.toContain('from-dotenv')
    } finally {
      rmSync(join(runDir, '.env'))
    }
  }, 30_000)

  test('--demo: the demo database in ./data, Swagger UI\'s files and the OpenAPI document from inside the executable; SIGTERM stops it with 0', async () => {
    const service = await start({ DATABASE_URL: undefined }, ['--demo'])
    expect(service.output()).toContain(`demo token:  ${DEMO_TOKEN}`)
    expect(statSync(join(runDir, 'data', 'kpi-conversations.sqlite')).isFile()).toBe(true)
    const page = await fetch(`${service.url}/api/v1/kpi/conversations?page_size=2`, { headers: { api_access_token: DEMO_TOKEN } })
    expect(page.status).toBe(200)
    expect((await page.json()).meta.items_count).toBeGreaterThan(0)

    const html = await (await fetch(`${service.url}/swagger`)).text()
    for (const [name, asset] of Object.entries(SWAGGER_UI_ASSETS)) {
      expect(html).toContain(`/swagger/assets/${name}`)
      const served = await fetch(`${service.url}/swagger/assets/${name}`)
      expect({ name, status: served.status, type: served.headers.get('content-type') }).toEqual({ name, status: 200, type: asset.contentType })
      expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(await Bun.file(asset.path).arrayBuffer()))).toBe(true)
    }
    const document = await (await fetch(`${service.url}/swagger/json`)).json()
    expect(document).toEqual(await Bun.file(join(ROOT, 'openapi.json')).json())
    // The dashboard's page and files from inside it too: uPlot and the CSS as they are, the page's script transpiled.
    const dashboard = await (await fetch(`${service.url}/dashboard`)).text()
    for (const [name, asset] of Object.entries(DASHBOARD_ASSETS)) {
      expect(dashboard).toContain(`/dashboard/assets/${name}`)
      const served = await fetch(`${service.url}/dashboard/assets/${name}`)
      expect({ name, status: served.status, type: served.headers.get('content-type') }).toEqual({ name, status: 200, type: asset.contentType })
      const text = await served.text()
      if (asset.transpile) expect(text).toContain('/api/v1/kpi/conversations/metrics')
      else expect(text).toBe(await Bun.file(asset.path).text())
    }

    expect(await service.stop()).toBe(0)
    expect(service.output()).toContain('"message":"stopped"')
  }, 30_000)

  describe.skipIf(!DIALECTS.includes('postgres'))('[postgres] with DATABASE_URL', () => {
    let database: TestDatabase | undefined
    const demo = demoDataSet({ conversations: 2000 })
    beforeAll(async () => {
      database = await createTestDatabase('postgres')
      await insertDataSet(database.connection, demo)
    }, 60_000)
    afterAll(async () => {
      await database?.destroy()
    })

    test('the remote contract suite against it: green', async () => {
      const url = (database!.config as { url: string }).url
      const service = await start({ DATABASE_URL: url, CURSOR_SECRET: 'x'.repeat(32) })
      expect(service.output()).toContain('"database":"postgres://')
      expect(service.output()).not.toContain('demo token')
      const { code, output } = await runRemoteSuite(service.url, {
        KPI_TOKEN: DEMO_TOKEN,
        KPI_ACCOUNT_ID: String(demo.vbetAccountIds[0]),
        KPI_FOREIGN_ACCOUNT_ID: String(demo.otherAccountIds[0]),
      })
      if (code !== 0) console.log(output.slice(-5000))
      expect(output).toContain('[remote] contract invariants')
      expect(suiteCount(output, 'fail')).toBe(0)
      expect(suiteCount(output, 'pass')).toBeGreaterThanOrEqual(12)
      expect(code).toBe(0)
      expect(await service.stop()).toBe(0)
    }, 180_000)
  })
})
