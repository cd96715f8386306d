// Cheap re-polling (a strong ETag, If-None-Match → 304 with no body) and Prometheus metrics, which
// the admin listener serves (src/ops/admin.ts), never the API's.
import { describe, expect, test } from 'bun:test'
import { createHandler } from '../../src/http.ts'
import { Metrics } from '../../src/ops/metrics.ts'
import { createAdminApp, createAdminHandler } from '../../src/ops/admin.ts'
import { MemoryState } from '../../src/state/shared-state.ts'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { contractApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

const PATH = '/api/v1/kpi/conversations'

for (const dialect of DIALECTS) {
  describe(`[${dialect}] ETag and metrics`, () => {
    const ctx = useDatabase(dialect)
    const serve = () => {
      const metrics = new Metrics()
      const state = new MemoryState()
      const handle = createHandler({ app: contractApp(ctx.connection, { metrics, state }), rateLimiter: new RateLimiter({ limit: 0 }), log: () => {}, metrics })
      const admin = createAdminHandler(createAdminApp({ connection: ctx.connection, state, metrics, logError: () => {} }))
      const send = (path: string, headers: Record<string, string> = {}) => handle(new Request(`http://localhost${path}`, { headers: { api_access_token: TOKENS.kpiTracker, ...headers } }))
      return Object.assign(send, { admin: (path: string) => admin(new Request(`http://localhost${path}`)) })
    }

    test('a JSON page carries a strong ETag and Cache-Control: private, no-store; the same page, the same ETag', async () => {
      const send = serve()
      const first = await send(`${PATH}?page_size=3`)
      const etag = first.headers.get('etag')!
      expect(etag).toMatch(/^"[\w-]{32}"$/)
      expect(first.headers.get('cache-control')).toBe('private, no-store')
      expect((await send(`${PATH}?page_size=3`)).headers.get('etag')).toBe(etag)
      expect((await send(`${PATH}?page_size=4`)).headers.get('etag')).not.toBe(etag)
      expect(Object.keys(await first.json())).toEqual(['meta', 'payload']) // the body is untouched
    })

    test('If-None-Match with it: 304, no body; with another (or stale) one: 200; W/ and * understood', async () => {
      const send = serve()
      const etag = (await send(`${PATH}?page_size=3`)).headers.get('etag')!
      const again = await send(`${PATH}?page_size=3`, { 'if-none-match': etag })
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
      expect(again.headers.get('etag')).toBe(etag)
      expect((await send(`${PATH}?page_size=3`, { 'if-none-match': `"stale", W/${etag}` })).status).toBe(304)
      expect((await send(`${PATH}?page_size=3`, { 'if-none-match': '*' })).status).toBe(304)
      expect((await send(`${PATH}?page_size=3`, { 'if-none-match': '"stale"' })).status).toBe(200)
    })

    test('errors and streamed exports carry no ETag', async () => {
      const send = serve()
      expect((await send(`${PATH}?since=x`)).headers.get('etag')).toBeNull()
      expect((await send(PATH, { api_access_token: 'nope' })).headers.get('etag')).toBeNull()
      expect((await send(`${PATH}?format=csv`)).headers.get('etag')).toBeNull()
    })

    test('/metrics on the admin listener: Prometheus text with requests by status, the latency histogram and cache lookups (and the pool on PostgreSQL)', async () => {
      const send = serve()
      await send(`${PATH}?page_size=2`)
      await send(`${PATH}?page_size=2&page=2`) // the same count: a cache hit
      await send(`${PATH}?since=x`)
      const response = await send.admin('/metrics')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
      const text = await response.text()
      expect(text).toContain('kpi_http_requests_total{status="200"} 2')
      expect(text).toContain('kpi_http_requests_total{status="422"} 1')
      expect(text).toContain('kpi_http_request_duration_seconds_count 3')
      expect(text).toMatch(/kpi_http_request_duration_seconds_bucket\{le="\+Inf"\} 3/)
      expect(text).toContain('kpi_cache_lookups_total{cache="count",result="hit"} 1')
      expect(text).toContain('kpi_cache_lookups_total{cache="count",result="miss"} 1')
      // Page 2 starts where page 1 ended (its end kept): the boundary cache's hit.
      expect(text).toContain('kpi_cache_lookups_total{cache="boundary",result="hit"} 1')
      expect(text).toContain('kpi_cache_lookups_total{cache="token",result="hit"} 2')
      if (dialect === 'postgres') expect(text).toMatch(/kpi_db_pool_connections\{state="total"\} \d+/)
      for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [\d.e+-]+)$/)
    })

    test('the API\'s handler does not serve /metrics, by any spelling of the path; the admin listener has /health and /ready too', async () => {
      const send = serve()
      for (const path of ['/metrics', '/api/%2e%2e/metrics', '/api/v1/kpi/conversations/%2e%2e/%2e%2e/%2e%2e/%2e%2e/metrics', '/api/.%2e/metrics', '/METRICS']) {
        const response = await send(path)
        expect([path, response.status]).toEqual([path, 404])
        expect(await response.text()).not.toContain('kpi_http_requests_total')
      }
      expect((await send.admin('/health')).status).toBe(200)
      expect(await (await send.admin('/ready')).json()).toEqual({ status: 'ready', shared_state: 'memory' })
      const unknown = await send.admin('/swagger')
      expect([unknown.status, await unknown.json()]).toEqual([404, { error: 'Resource could not be found' }])
    })
  })
}
