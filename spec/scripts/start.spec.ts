// The README's start command, run as a newcomer runs it: the service on the embedded SQLite demo
// database (created and seeded on first start), its banner, and the curl example as printed.
import { describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ConversationsPage } from '../../src/kpi/conversations.model.ts'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'
import { runServiceExpectingExit, START_COMMAND, startService } from '../service-process.ts'

describe('npm start', () => {
  test('serves the demo database, prints the endpoint, the Swagger UI and the demo token, and stops on SIGTERM with 0', async () => {
    const service = await startService()
    try {
      const output = service.output()
      expect(output).toContain(`endpoint:    ${service.url}/api/v1/kpi/conversations`)
      expect(output).toContain(`Swagger UI:  ${service.url}/swagger`)
      expect(output).toContain(`demo token:  ${DEMO_TOKEN}`)

      const response = await fetch(`${service.url}/api/v1/kpi/conversations?page_size=5`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(response.status).toBe(200)
      const body = await response.json()
      expect(Value.Errors(ConversationsPage, body).First()).toBeUndefined()
      expect(body.payload).toHaveLength(5)
      expect(body.meta.items_count).toBeGreaterThan(5)
      expect((await fetch(`${service.url}/swagger`)).status).toBe(200)
      // The demo has the change capture, as an operator installs it: its changes feed is exact.
      const feed = await fetch(`${service.url}/api/v1/kpi/conversations/changes?start_time=0&page_size=1`, { headers: { api_access_token: DEMO_TOKEN } })
      expect((await feed.json()).meta.exact).toBe(true)
    } finally {
      expect(await service.stop()).toBe(0)
    }
  }, 60_000) // the first start creates the demo database

  test('the README\'s demo as written: the curl as printed, its items_count, the accounts it may and may not read', async () => {
    const readme = await Bun.file(`${import.meta.dir}/../../README.md`).text()
    const curl = /curl -H "api_access_token: ([^"]+)" \\\n\s+"http:\/\/127\.0\.0\.1:3000(\/api\/v1\/kpi\/conversations[^"]*)"/.exec(readme)
    expect(curl).not.toBeNull()
    const [, token, path] = curl!
    expect(token).toBe(DEMO_TOKEN)
    // "So `items_count` is **1,224**", "**1, 2, 3**: VBET accounts", "**4, 5**: other accounts".
    const itemsCount = Number(/`items_count` is \*\*([\d,]+)\*\*/.exec(readme)?.[1]?.replaceAll(',', ''))
    const accounts = (label: string) => new RegExp(`\\*\\*([\\d, ]+)\\*\\*: ${label}`).exec(readme)?.[1]?.split(',').map(Number) ?? []
    const [allowed, others] = [accounts('VBET accounts'), accounts('other accounts')]
    const demo = demoDataSet({ conversations: 1 }) // only for its account ids
    expect({ allowed, others }).toEqual({ allowed: demo.vbetAccountIds, others: demo.otherAccountIds })
    const service = await startService()
    try {
      const response = await fetch(`${service.url}${path}`, { headers: { api_access_token: token! } })
      expect(response.status).toBe(200)
      const body = await response.json()
      expect(Value.Check(ConversationsPage, body)).toBe(true)
      expect(body.meta.items_count).toBe(itemsCount)
      const statusOf = async (account: number) =>
        (await fetch(`${service.url}/api/v1/kpi/conversations?account_id=${account}`, { headers: { api_access_token: token! } })).status
      for (const account of allowed) expect({ account, status: await statusOf(account) }).toEqual({ account, status: 200 })
      for (const account of others) expect({ account, status: await statusOf(account) }).toEqual({ account, status: 401 })
    } finally {
      await service.stop()
    }
  }, 30_000)

  test('without DATABASE_URL and without --demo (the executable as a deployment runs it): exit 1, saying what to set', async () => {
    const { code, output } = await runServiceExpectingExit({ DATABASE_URL: undefined }, { command: START_COMMAND.filter((arg) => arg !== '--demo') })
    expect(code).toBe(1)
    expect(output).toContain('DATABASE_URL is not set: nothing to serve')
    expect(output).toContain('--demo')
    expect(output).not.toContain('listening')
  }, 30_000)

  test('the README\'s metrics curl as printed: rows by day and account whose conversations add up to the demo\'s items_count', async () => {
    const readme = await Bun.file(`${import.meta.dir}/../../README.md`).text()
    const curl = /curl -H "api_access_token: ([^"]+)" \\\n\s+"http:\/\/127\.0\.0\.1:3000(\/api\/v1\/kpi\/conversations\/metrics[^"]*)"/.exec(readme)
    expect(curl).not.toBeNull()
    const itemsCount = Number(/`items_count` is \*\*([\d,]+)\*\*/.exec(readme)?.[1]?.replaceAll(',', ''))
    const service = await startService()
    try {
      const response = await fetch(`${service.url}${curl![2]}`, { headers: { api_access_token: curl![1]! } })
      expect(response.status).toBe(200)
      const body = (await response.json()) as { meta: { group_by: string[]; time_zone: string }; payload: Array<{ conversations: number }> }
      expect(body.meta).toMatchObject({ group_by: ['day', 'account'], time_zone: 'Europe/Berlin' })
      expect(body.payload.reduce((sum, row) => sum + row.conversations, 0)).toBe(itemsCount)
    } finally {
      await service.stop()
    }
  }, 60_000)

  test('a SQLite file that does not exist is not created: exit 1 with a message that says what to do', async () => {
    const { code, output } = await runServiceExpectingExit({ DATABASE_URL: 'sqlite:/nonexistent/kpi.sqlite' })
    expect(code).toBe(1)
    expect(output).toContain('/nonexistent/kpi.sqlite does not exist')
  })

  test('a bad configuration stops the start with every problem named', async () => {
    const { code, output } = await runServiceExpectingExit({ PORT: 'eighty', KPI_TRACKER_EMAIL: 'nobody' })
    expect(code).toBe(1)
    expect(output).toContain('PORT must be an integer')
    expect(output).toContain('KPI_TRACKER_EMAIL must be an email address')
  })
})
