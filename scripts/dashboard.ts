// Drives the dashboard (/dashboard) in a real headless Chromium (Debian's, through playwright-core)
// the way an analyst does: open it, type the token, pick a range, a zone and maybe an account,
// Show, and read what the page shows. Used by the browser spec (spec/ui/dashboard.spec.ts), and by
// `bun scripts/dashboard.ts` to make the README's screenshot (docs/dashboard.png) against a freshly
// started demo service. Any request that would leave the host is refused and reported.
import { join } from 'node:path'
import { chromium, type Browser, type Download, type Page } from 'playwright-core'
import { CHROMIUM_CANDIDATES, findChromium } from './swagger-ui.ts'

/** A figure the page shows: which table or tile, which row (its keys), which field, its exact value. */
export interface ShownFigure {
  readonly table: string
  readonly key: string
  readonly field: string
  readonly value: string
  readonly text: string
}

export interface DashboardChoice {
  readonly token: string
  readonly from?: string
  readonly to?: string
  readonly zone?: string
  readonly account?: string
}

export interface DashboardSession {
  readonly page: Page
  /** URLs the page tried to load from anywhere but the service (all refused). */
  readonly offHostRequests: string[]
  /** Console errors and warnings (a Content-Security-Policy violation is one), and page errors. */
  readonly consoleProblems: string[]
  /** Every metrics request the page sent, as the path and query it sent. */
  readonly metricsRequests: string[]
  /** Fills the form, presses Show, waits for the page's own "ready" (or "error") signal. */
  show(choice: DashboardChoice): Promise<'ready' | 'error'>
  /** Every figure in the tiles and tables. */
  figures(): Promise<ShownFigure[]>
  /** Clicks a CSV link (by its position among the links of a table) and returns the download's text and the link's href. */
  download(table: string, index: number): Promise<{ href: string; text: string }>
  storage(): Promise<{ local: Record<string, string>; session: Record<string, string>; cookies: number }>
  screenshot(path: string, fullPage?: boolean): Promise<void>
  close(): Promise<void>
}

/** Opens the dashboard of the service at `baseUrl`. */
export async function openDashboard(baseUrl: string, options: { viewport?: { width: number; height: number }; timezoneId?: string } = {}): Promise<DashboardSession> {
  const executablePath = findChromium()
  if (!executablePath) throw new Error(`Chromium not found (looked at ${CHROMIUM_CANDIDATES.join(', ')}); apt-get install -y chromium`)
  const browser: Browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 1600 }, acceptDownloads: true, timezoneId: options.timezoneId ?? 'UTC' })
    const origin = new URL(baseUrl).origin
    const offHostRequests: string[] = []
    const metricsRequests: string[] = []
    await context.route('**/*', (route) => {
      const url = route.request().url()
      if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) {
        if (url.startsWith(`${origin}/api/v1/kpi/conversations/metrics`)) metricsRequests.push(url.slice(origin.length))
        return route.continue()
      }
      offHostRequests.push(url)
      return route.abort('internetdisconnected')
    })
    const page = await context.newPage()
    const consoleProblems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(message.text())
    })
    page.on('pageerror', (error) => consoleProblems.push(`page error: ${error.message}`))
    await page.goto(`${baseUrl}/dashboard`)
    await page.waitForFunction(() => document.documentElement.dataset.state === 'idle', undefined, { timeout: 30_000 })

    return {
      page,
      offHostRequests,
      consoleProblems,
      metricsRequests,
      async show(choice) {
        await page.fill('#token', choice.token)
        if (choice.zone) await page.selectOption('#zone', choice.zone)
        if (choice.from) await page.fill('#from', choice.from)
        if (choice.to) await page.fill('#to', choice.to)
        if (choice.account !== undefined) await page.selectOption('#account', choice.account)
        await page.click('button[type=submit]')
        await page.waitForFunction(() => ['ready', 'error'].includes(document.documentElement.dataset.state ?? ''), undefined, { timeout: 30_000 })
        return (await page.evaluate(() => document.documentElement.dataset.state)) as 'ready' | 'error'
      },
      figures: () =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLElement>('[data-field]')).map((cell) => ({
            table: cell.closest('table')?.dataset.groupBy ?? 'tiles',
            key: cell.closest('tr')?.dataset.key ?? '',
            field: cell.dataset.field!,
            value: cell.dataset.value!,
            text: cell.textContent ?? '',
          })),
        ),
      async download(table, index) {
        const link = page.locator(`table[data-group-by="${table}"] a.csv`).nth(index)
        const href = (await link.getAttribute('href')) ?? ''
        const [download]: [Download, void] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), link.click()])
        const path = await download.path()
        return { href, text: path ? await Bun.file(path).text() : '' }
      },
      async storage() {
        const [local, session] = await page.evaluate(() => [{ ...window.localStorage }, { ...window.sessionStorage }])
        return { local: local!, session: session!, cookies: (await context.cookies()).length }
      },
      screenshot: async (path, fullPage = true) => {
        await page.screenshot({ path, fullPage })
      },
      close: () => browser.close(),
    }
  } catch (error) {
    await browser.close()
    throw error
  }
}

if (import.meta.main) {
  // The README's screenshot, from a fresh demo service: the last 30 days, in Berlin time.
  const { startService } = await import('../spec/service-process.ts')
  const { DEMO_TOKEN } = await import('../fixtures/demo-data-set.ts')
  const service = await startService()
  try {
    const session = await openDashboard(service.url, { viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Berlin' })
    try {
      const state = await session.show({ token: DEMO_TOKEN, zone: 'Europe/Berlin' })
      if (state !== 'ready') throw new Error(`the dashboard says: ${await session.page.textContent('#status')}`)
      await session.page.fill('#token', '') // the screenshot shows no token
      const path = join(import.meta.dir, '..', 'docs', 'dashboard.png')
      await session.screenshot(path)
      console.log(`${path}: ${await session.page.textContent('#status')}`)
      if (session.offHostRequests.length > 0 || session.consoleProblems.length > 0) console.warn({ offHost: session.offHostRequests, console: session.consoleProblems })
    } finally {
      await session.close()
    }
  } finally {
    await service.stop()
  }
}
