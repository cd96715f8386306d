// The dashboard at /dashboard: served by the service itself under the Swagger page's strict CSP,
// and, in a real headless Chromium with the network cut, every figure it shows is the metrics
// endpoint's, a day's CSV link downloads exactly that day's conversations, nothing loads from
// elsewhere, no CSP violation is logged, and the token stays out of storage.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app.ts'
import { openDatabase } from '../../src/db/dialect.ts'
import { SWAGGER_UI_CSP } from '../../src/docs/swagger.ts'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { findChromium } from '../../scripts/swagger-ui.ts'
import { openDashboard, type DashboardSession, type ShownFigure } from '../../scripts/dashboard.ts'
import { startService, type ServiceProcess } from '../service-process.ts'
import { request } from '../helpers.ts'

describe('the dashboard page', () => {
  const connection = openDatabase({ dialect: 'sqlite', filename: ':memory:', isEmbeddedDefault: false }, { readonly: false })
  const app = createApp({ connection, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com' } })
  afterAll(() => connection.destroy())

  test('is HTML that loads its scripts and styles from this service only, with no inline script or style, under the Swagger page\'s CSP', async () => {
    for (const path of ['/dashboard', '/dashboard/']) {
      const page = await request(app, path, { token: null })
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toStartWith('text/html')
      expect(page.headers.get('content-security-policy')).toBe(SWAGGER_UI_CSP)
      const references = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
      expect(references.length).toBe(4)
      for (const reference of references) expect(reference).toStartWith('/dashboard/assets/')
      expect(page.text).not.toMatch(/https?:\/\//)
      expect(page.text).not.toMatch(/<script>|<style|style="/)
    }
  })

  test.each([
    ['uPlot.iife.min.js', 'text/javascript', 'uPlot'],
    ['uPlot.min.css', 'text/css', '.uplot'],
    ['dashboard.css', 'text/css', 'tiles'],
    ['dashboard.js', 'text/javascript', 'api_access_token'],
  ])('serves %s', async (file, type, content) => {
    const response = await app.handle(new Request(`http://localhost/dashboard/assets/${file}`))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toStartWith(type)
    const text = await response.text()
    expect(text).toContain(content)
    // The page's script is served as JavaScript: the TypeScript transpiled (no type left in it).
    if (file === 'dashboard.js') expect(text).not.toMatch(/\binterface\b|import type|: string\b/)
  })

  test('an asset it does not have: 404 {"error"}; the page is not in the API document', async () => {
    const missing = await request(app, '/dashboard/assets/package.json', { token: null })
    expect([missing.status, missing.body]).toEqual([404, { error: 'Resource could not be found' }])
    const document = await request(app, '/swagger/json', { token: null })
    expect(Object.keys(document.body.paths).some((path) => path.startsWith('/dashboard'))).toBe(false)
  })
})

const chromiumPath = findChromium()
if (!chromiumPath) {
  if (process.env.CI) throw new Error('CI must run the browser spec: Chromium is missing (.ci/run installs it)')
  console.warn('*** dashboard browser spec skipped: Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)')
}

/** What the endpoint answers for a request the page sent, asked again directly. */
async function answerTo(service: ServiceProcess, path: string): Promise<any> {
  const response = await fetch(`${service.url}${path}`, { headers: { api_access_token: DEMO_TOKEN } })
  expect(response.status).toBe(200)
  return response.json()
}

/** Every figure the page shows, next to the endpoint's figure for the same group and field. */
async function compareWithEndpoint(service: ServiceProcess, session: DashboardSession, shown: ShownFigure[]) {
  // The latest request of each grouping is what the page shows.
  const answers = new Map<string, any>()
  for (const path of session.metricsRequests) {
    const groupBy = new URL(path, 'http://x').searchParams.get('group_by') ?? ''
    answers.set(groupBy === '' ? 'tiles' : groupBy, await answerTo(service, path))
  }
  expect([...answers.keys()].sort()).toEqual(['account', 'assignee', 'day', 'label', 'tiles'])
  let compared = 0
  for (const figure of shown) {
    const answer = answers.get(figure.table)
    const keys = figure.key ? (JSON.parse(figure.key) as Record<string, unknown>) : {}
    const row = answer.payload.find((candidate: Record<string, unknown>) => Object.entries(keys).every(([name, value]) => value === undefined || candidate[name] === value))
    expect({ figure, found: row !== undefined }).toEqual({ figure, found: true })
    const [measure, statistic] = figure.field.split('.')
    const value = statistic ? row[measure!]?.[statistic] : row[measure!]
    expect({ figure: `${figure.table} ${figure.key} ${figure.field}`, value: figure.value }).toEqual({ figure: `${figure.table} ${figure.key} ${figure.field}`, value: value === null || value === undefined ? '' : String(value) })
    // Counts are shown as they are; durations as a person reads them, from the same figure.
    if (!statistic) expect(figure.text).toBe(Number(value).toLocaleString('en'))
    compared++
  }
  return compared
}

describe.skipIf(!chromiumPath)('the dashboard in headless Chromium, network cut', () => {
  let service: ServiceProcess
  let session: DashboardSession
  beforeAll(async () => {
    service = await startService()
    session = await openDashboard(service.url, { timezoneId: 'Europe/Berlin' })
  }, 60_000)
  afterAll(async () => {
    await session?.close()
    await service?.stop()
  })

  test('with the demo token, the last 30 days in Berlin time: every figure on the page is the metrics endpoint\'s', async () => {
    expect(await session.show({ token: DEMO_TOKEN, zone: 'Europe/Berlin' })).toBe('ready')
    const shown = await session.figures()
    expect(await compareWithEndpoint(service, session, shown)).toBeGreaterThan(300)
    // The page's requests: the rows of the picked range, in the picked zone, for all accounts.
    for (const path of session.metricsRequests) expect(new URL(path, 'http://x').searchParams.get('time_zone')).toBe('Europe/Berlin')
    const days = shown.filter((figure) => figure.table === 'day' && figure.field === 'conversations')
    expect(days.length).toBeGreaterThanOrEqual(30)
    const total = shown.find((figure) => figure.table === 'tiles' && figure.field === 'conversations')!
    expect(days.reduce((sum, day) => sum + Number(day.value), 0)).toBe(Number(total.value))
  }, 60_000)

  test('a day\'s CSV link downloads exactly that day\'s conversations, an account\'s exactly that account\'s', async () => {
    const shown = await session.figures()
    for (const [table, index] of [['day', 2], ['account', 1]] as const) {
      const counts = shown.filter((figure) => figure.table === table && figure.field === 'conversations')
      const { href, text } = await session.download(table, index)
      const query = new URL(href, 'http://x').searchParams
      expect(query.get('format')).toBe('csv')
      const rows = text.replace(/^\uFEFF/, '').trimEnd().split('\r\n').length - 1
      expect({ table, href, rows }).toEqual({ table, href, rows: Number(counts[index]!.value) })
      // And the rows endpoint agrees on how many conversations that is.
      const page = await answerTo(service, `/api/v1/kpi/conversations?${new URLSearchParams([...query].filter(([name]) => name !== 'format'))}&page_size=1`)
      expect(page.meta.items_count).toBe(rows)
    }
  }, 60_000)

  test('one account picked: every figure is the endpoint\'s for that account_id', async () => {
    const before = session.metricsRequests.length
    expect(await session.show({ token: DEMO_TOKEN, account: '2' })).toBe('ready')
    const sent = session.metricsRequests.slice(before)
    expect(sent).toHaveLength(5)
    for (const path of sent) expect(new URL(path, 'http://x').searchParams.get('account_id')).toBe('2')
    await compareWithEndpoint(service, session, await session.figures())
  }, 60_000)

  test('nothing was requested from outside the host; no CSP violation, no page error', () => {
    expect(session.offHostRequests).toEqual([])
    expect(session.consoleProblems).toEqual([])
  })

  test('the token is in no storage, no cookie and no URL the page requested', async () => {
    const storage = await session.storage()
    expect(JSON.stringify(storage.local) + JSON.stringify(storage.session)).not.toContain(DEMO_TOKEN)
    expect(storage.cookies).toBe(0)
    for (const path of session.metricsRequests) expect(path).not.toContain(DEMO_TOKEN)
  })

  test('a wrong token: the page says what the endpoint said (401), and is not ready', async () => {
    expect(await session.show({ token: 'not-the-token', account: '' })).toBe('error')
    expect(await session.page.textContent('#status')).toContain('401')
  }, 60_000)
})
