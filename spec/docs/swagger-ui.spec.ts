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

  test('with a trailing slash too: /swagger/ is the same local page, /swagger/json/ the same finished document', async () => {
    const [page, slashed] = await Promise.all([request(app, '/swagger', { token: null }), request(app, '/swagger/', { token: null })])
    expect(slashed.status).toBe(200)
    expect(slashed.text).toBe(page.text)
    const [document, slashedDocument] = await Promise.all([request(app, '/swagger/json', { token: null }), request(app, '/swagger/json/', { token: null })])
    expect(slashedDocument.status).toBe(200)
    expect(slashedDocument.body.openapi).toBe('3.1.0')
    expect(slashedDocument.body).toEqual(document.body)
  })

  test('a Content-Security-Policy that allows only this service\'s own assets, and no framing', async () => {
    for (const path of ['/swagger', '/swagger/']) {
      const csp = (await request(app, path, { token: null })).headers.get('content-security-policy') ?? ''
      const directives = Object.fromEntries(csp.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(' ')]))
      expect(directives['default-src']).toBe("'none'")
      expect(directives['script-src']).toBe("'self'")
      expect(directives['connect-src']).toBe("'self'")
      expect(directives['frame-ancestors']).toBe("'none'")
      expect(csp).not.toMatch(/https?:|\*|'unsafe-eval'/)
      // No inline script: the page's own start-up is a file of this service.
      expect((await request(app, path, { token: null })).text).not.toMatch(/<script>(?!<\/script>)/)
    }
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

  // Chromium alone takes about Bun's 5 s default here.
  beforeAll(async () => {
    service = await startService()
    session = await openSwaggerUi(service.url, DEMO_TOKEN)
  }, 60_000)
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

  test('the Content-Security-Policy blocked nothing the page needs (no violation in the console)', () => {
    expect(session.consoleProblems.filter((text) => /Content.Security.Policy/i.test(text))).toEqual([])
  })

  test('the token is not kept in localStorage (a reload asks for it again)', async () => {
    expect(JSON.stringify(await session.localStorage())).not.toContain(DEMO_TOKEN)
  })

  test('unless the user opts in: /swagger/?persist_authorization=true keeps it across reloads', async () => {
    const remembering = await openSwaggerUi(service.url, DEMO_TOKEN, '/swagger/?persist_authorization=true')
    try {
      expect(JSON.stringify(await remembering.localStorage())).toContain(DEMO_TOKEN)
      expect((await remembering.execute({ page_size: '1' })).status).toBe(200)
    } finally {
      await remembering.close()
    }
  }, 60_000)
})
