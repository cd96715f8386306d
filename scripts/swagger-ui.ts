// Drives Swagger UI in a real headless Chromium (Debian's, through playwright-core) the way an
// analyst does: open /swagger, Authorize with a token, Try it out, Execute. Used by the browser
// spec, and by `bun scripts/swagger-ui.ts` to make the README's screenshot (docs/swagger-ui.png)
// against a freshly started demo service. Any request that would leave the host is refused and
// reported: the UI must work with the network cut.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[]

export function findChromium(): string | undefined {
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path))
}

export interface Execution {
  /** The status Swagger UI shows for the live response. */
  readonly status: number
  /** The response body Swagger UI shows, parsed. */
  readonly body: any
}

export interface SwaggerSession {
  readonly page: Page
  /** URLs the page tried to load from anywhere but the service (all refused). */
  readonly offHostRequests: string[]
  /** Console errors and warnings the page logged (a Content-Security-Policy violation is one). */
  readonly consoleProblems: string[]
  /** The page's localStorage, as the browser keeps it. */
  localStorage(): Promise<Record<string, string>>
  /** Sets the given query parameters (others emptied), executes, and reads the shown response. */
  execute(query: Record<string, string>): Promise<Execution>
  screenshot(path: string): Promise<void>
  close(): Promise<void>
}

/**
 * Opens Swagger UI of the service at `baseUrl` (at `path`, /swagger by default), authorized with
 * `token`, the operation open for trying.
 */
export async function openSwaggerUi(baseUrl: string, token: string, path = '/swagger'): Promise<SwaggerSession> {
  const executablePath = findChromium()
  if (!executablePath) throw new Error(`Chromium not found (looked at ${CHROMIUM_CANDIDATES.join(', ')}); apt-get install -y chromium`)
  const browser: Browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } })
    const origin = new URL(baseUrl).origin
    const offHostRequests: string[] = []
    await context.route('**/*', (route) => {
      const url = route.request().url()
      if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue()
      offHostRequests.push(url)
      return route.abort('internetdisconnected')
    })
    const page = await context.newPage()
    const consoleProblems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(message.text())
    })
    await page.goto(`${baseUrl}${path}`)
    await page.locator('.opblock-summary').first().waitFor({ timeout: 30_000 })

    await page.locator('button.authorize').first().click()
    // Two schemes (the two header spellings), either enough: the first, api_access_token.
    await page.locator('.modal-ux input').first().fill(token)
    await page.locator('.modal-ux button.authorize').first().click()
    await page.locator('.modal-ux button.btn-done').first().click()

    await page.locator('.opblock-summary').first().click()
    // The page enables "Try it out" by default; the button then reads "Cancel".
    const tryOut = page.locator('button.try-out__btn')
    if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click()

    return {
      page,
      offHostRequests,
      consoleProblems,
      localStorage: () => page.evaluate(() => ({ ...window.localStorage })),
      async execute(query) {
        for (const name of ['account_id', 'since', 'until', 'page', 'page_size']) {
          await page.locator(`tr[data-param-name="${name}"] input`).fill(query[name] ?? '')
        }
        const clear = page.locator('button.btn-clear')
        if (await clear.count()) await clear.click()
        await page.locator('button.execute').click()
        const status = page.locator('.live-responses-table .response .response-col_status').first()
        await status.waitFor({ timeout: 30_000 })
        const body = await page.locator('.live-responses-table .response-col_description pre').first().innerText()
        return { status: Number((await status.innerText()).trim()), body: JSON.parse(body) }
      },
      screenshot: async (path) => {
        await page.screenshot({ path, fullPage: false })
      },
      close: () => browser.close(),
    }
  } catch (error) {
    await browser.close()
    throw error
  }
}

if (import.meta.main) {
  // The README's screenshot, from a fresh demo service.
  const { startService } = await import('../spec/service-process.ts')
  const { DEMO_TOKEN } = await import('../fixtures/demo-data-set.ts')
  const service = await startService()
  try {
    const session = await openSwaggerUi(service.url, DEMO_TOKEN)
    try {
      const result = await session.execute({ page_size: '5' })
      await session.page.locator('.live-responses-table').scrollIntoViewIfNeeded()
      await session.page.evaluate(() => window.scrollTo(0, 0))
      const path = join(import.meta.dir, '..', 'docs', 'swagger-ui.png')
      await session.screenshot(path)
      console.log(`${path}: status ${result.status}, ${result.body.payload.length} items`)
    } finally {
      await session.close()
    }
  } finally {
    await service.stop()
  }
}
