// The contract suite's remote mode, tested for real: the service runs as a separate process, and
// `bun test spec/contract` is pointed at it as an integrator would point it at a deployment. Then
// at a deliberately broken deployment (a proxy that stops clamping page_size): the suite must fail
// and name the rule.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { DEMO_TOKEN, demoDataSet } from '../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from './setup.ts'
import { runRemoteSuite as runSuite, suiteCount as count } from './remote-suite.ts'
import { startService, type ServiceProcess } from './service-process.ts'

const demo = demoDataSet({ conversations: 1 }) // only for its account ids

const runRemoteSuite = (baseUrl: string, extra: Record<string, string> = {}) => runSuite(baseUrl, { KPI_TOKEN: DEMO_TOKEN, ...extra })

describe.skipIf(REMOTE_BASE_URL !== undefined)('the contract suite in remote mode', () => {
  let service: ServiceProcess
  beforeAll(async () => {
    service = await startService()
  })
  afterAll(async () => {
    await service?.stop()
  }, 60_000)

  test('against the demo as docs/contract-suite.md says (its token and accounts): green, with the local-only specs reported as skipped', async () => {
    const guide = await Bun.file(`${import.meta.dir}/../docs/contract-suite.md`).text()
    const against = /`KPI_BASE_URL=http:\/\/127\.0\.0\.1:3000\s+KPI_TOKEN=(\S+) KPI_ACCOUNT_ID=(\d+) KPI_FOREIGN_ACCOUNT_ID=(\d+)`/.exec(guide)
    expect(against).not.toBeNull()
    const [, token, accountId, foreignAccountId] = against!
    expect([token, Number(accountId), Number(foreignAccountId)]).toEqual([DEMO_TOKEN, demo.vbetAccountIds[0], demo.otherAccountIds[0]])
    const { code, output } = await runRemoteSuite(service.url, { KPI_TOKEN: token!, KPI_ACCOUNT_ID: accountId!, KPI_FOREIGN_ACCOUNT_ID: foreignAccountId! })
    expect(output).toContain('[remote] contract invariants')
    expect(count(output, 'fail')).toBe(0)
    expect(count(output, 'pass')).toBeGreaterThanOrEqual(12)
    expect(count(output, 'skip')).toBeGreaterThanOrEqual(7)
    expect(output).toContain('(local only: needs the fixture data set)')
    expect(output).not.toContain(DEMO_TOKEN)
    expect(code).toBe(0)
  }, 60_000)

  test('without the optional inputs, the checks that need them are skipped and say which variable to set', async () => {
    const { code, output } = await runRemoteSuite(service.url)
    expect(code).toBe(0)
    expect(output).toContain('(skipped: set KPI_FOREIGN_ACCOUNT_ID)')
    expect(output).toContain('(skipped: set KPI_ACCOUNT_ID)')
  }, 60_000)

  test('without KPI_TOKEN: fails once, saying what to set, before any request', async () => {
    const { code, output } = await runSuite(service.url, {})
    expect(code).not.toBe(0)
    expect(output.match(/remote mode needs KPI_TOKEN/g)).toHaveLength(1)
    expect(output).not.toContain('Unhandled error')
    expect(output).not.toMatch(/\(pass\)|\(fail\)/)
  }, 60_000)

  test('against a deployment that does not clamp page_size: fails, naming the rule and the request', async () => {
    // A proxy that answers what a build without the clamp would: meta.page_size as asked.
    const proxy = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(request) {
        const url = new URL(request.url)
        const upstream = await fetch(`${service.url}${url.pathname}${url.search}`, { headers: request.headers })
        const asked = Number(url.searchParams.get('page_size'))
        if (upstream.status !== 200 || !(asked > 1000)) return upstream
        const body = await upstream.json()
        body.meta.page_size = asked
        return Response.json(body)
      },
    })
    try {
      const { code, output } = await runRemoteSuite(`http://127.0.0.1:${proxy.port}`)
      expect(code).not.toBe(0)
      expect(output).toContain('rule broken: page_size is clamped to [1, 1000]')
      expect(output).toContain(`request: GET http://127.0.0.1:${proxy.port}/api/v1/kpi/conversations?page_size=5000`)
      expect(output).not.toContain(DEMO_TOKEN)
      expect(count(output, 'fail')).toBe(1)
    } finally {
      await proxy.stop(true)
    }
  }, 60_000)
})
