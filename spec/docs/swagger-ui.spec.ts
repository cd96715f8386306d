// Swagger UI at /swagger: every asset from the service itself (no request leaves the host), and
// in a real headless Chromium, with the network cut, an analyst can authorize and try queries.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../src/app.ts'
import { openDatabase } from '../../src/db/dialect.ts'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { findChromium, openSwaggerUi, type SwaggerSession } from '../../scripts/swagger-ui.ts'
import { startService, type ServiceProcess } from '../service-process.ts'
import { request } from '../helpers.ts'

describe('the Swagger UI page', () => {
  const connection = openDatabase({ dialect: 'sqlite', filename: ':memory:', isEmbeddedDefault: false }, { readonly: false })
  const app = createApp({ connection, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com' } })
  afterAll(() => connection.destroy())

  test('is HTML that loads its scripts and styles from this service only', async () => {
    const page = await request(app, '/swagger', { token: null })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toStartWith('text/html')
    const references = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
    expect(references.length).toBeGreaterThanOrEqual(3)
    for (const reference of references) expect(reference).toStartWith('/swagger/')
    expect(page.text).not.toMatch(/https?:\/\//)
  })

  test.each([
    ['swagger-ui-bundle.js', 'text/javascript'],
    ['swagger-ui.css', 'text/css'],
    ['favicon-32x32.png', 'image/png'],
  ])('serves %s from the swagger-ui-dist package', async (file, type) => {
    const response = await app.handle(new Request(`http://localhost/swagger/assets/${file}`))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toStartWith(type)
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(500)
  })
})

const chromiumPath = findChromium()
if (!chromiumPath) {
  if (process.env.CI) throw new Error('CI must run the browser spec: Chromium is missing (.ci/run installs it)')
  console.warn('*** Swagger UI browser spec skipped: Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)')
}

describe.skipIf(!chromiumPath)('Swagger UI in headless Chromium, network cut', () => {
  let service: ServiceProcess
  let session: SwaggerSession
  const screenshots = mkdtempSync(join(tmpdir(), 'kpi-swagger-'))

  beforeAll(async () => {
    service = await startService()
    session = await openSwaggerUi(service.url, DEMO_TOKEN)
  })
  afterAll(async () => {
    await session?.close()
    await service?.stop()
  })

  test('authorized with the demo token, page_size=5 shows 200 with five items', async () => {
    const result = await session.execute({ page_size: '5' })
    const screenshot = join(screenshots, 'page-size-5.png')
    await session.screenshot(screenshot)
    console.log(`screenshot: ${screenshot}`)
    expect(result.status).toBe(200)
    expect(result.body.payload).toHaveLength(5)
    expect(result.body.meta.page_size).toBe(5)
  })

  test('account_id of a non-VBET account shows 401 with its {"error"} body', async () => {
    const result = await session.execute({ account_id: '4' })
    expect(result.status).toBe(401)
    expect(Object.keys(result.body)).toEqual(['error'])
  })

  test('nothing was requested from outside the host', () => {
    expect(session.offHostRequests).toEqual([])
  })
})
