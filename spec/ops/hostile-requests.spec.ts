// Requests as a load balancer, a scanner or a broken client write them, sent byte for byte to the
// service as a separate process (the behaviour lives in Bun's server and the router, not only in
// the app): routing by the request path alone, whatever the Host; a JSON 400 for a Host the
// service cannot use; never a runtime error page; every answer counted, logged as one JSON line,
// and without the token, wherever it was sent.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'
import { get, rawRequest, type RawAnswer } from '../raw-http.ts'

const API = '/api/v1/kpi/conversations'

function expectJsonError(answer: RawAnswer, status: number) {
  expect(answer.status).toBe(status)
  expect(answer.headers['content-type']).toStartWith('application/json')
  expect(Object.keys(JSON.parse(answer.body))).toEqual(['error'])
  expect(answer.headers['x-content-type-options']).toBe('nosniff')
}

function logLines(service: ServiceProcess): Array<Record<string, unknown>> {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}

describe.skipIf(REMOTE_BASE_URL !== undefined)('hostile requests, against the service as a process', () => {
  let service: ServiceProcess
  let port = 0
  beforeAll(async () => {
    // NODE_ENV=development is where Bun would serve its HTML error page with source and paths.
    service = await startService({ NODE_ENV: 'development', RATE_LIMIT_PER_MINUTE: '5' })
    port = Number(new URL(service.url).port)
  })
  afterAll(async () => {
    await service?.stop()
  })

  test('a Host of one to three characters routes like any other: /health, /ready and the API answer 200', async () => {
    for (const host of ['k', 'kp', 'kpi', '1.2']) {
      for (const path of ['/health', '/ready']) {
        const answer = await rawRequest(port, get(path, [`Host: ${host}`]))
        expect([host, path, answer.status]).toEqual([host, path, 200])
      }
    }
    const answer = await rawRequest(port, get(`${API}?page_size=1&since=1`, ['Host: kpi', `api_access_token: ${DEMO_TOKEN}`]))
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).payload).toHaveLength(1)
    // Everything the handler adds around the app: the rate limit, the ETag and the cache policy.
    expect(answer.headers['ratelimit-limit']).toBe('5')
    expect(answer.headers.etag).toMatch(/^"[\w-]{32}"$/)
    expect(answer.headers['cache-control']).toBe('private, no-store')
  })

  test('a short Host with a path prefix is not the API: 404, and it is rate limited like every /api/ path would be', async () => {
    const answer = await rawRequest(port, get(`/abc${API}`, ['Host: x', `api_access_token: ${DEMO_TOKEN}`]))
    expectJsonError(answer, 404)
    // The limit (5 a minute) holds whatever the Host: the same token through Host "x" ends in 429.
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) {
      statuses.push((await rawRequest(port, get(`${API}?page_size=1&since=${1000 + i}`, ['Host: x', 'api_access_token: rate-limit-probe-token']))).status)
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.slice(5)).toEqual([429, 429])
  })

  test('HTTP/1.0 without a Host (HAProxy\'s default health check) is answered: /ready 200', async () => {
    const answer = await rawRequest(port, 'GET /ready HTTP/1.0\r\n\r\n')
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toEqual({ status: 'ready', shared_state: 'memory' })
  })

  test('a Host the service cannot use is 400 {"error"}: a bad port, a path, spaces, userinfo, two Host lines', async () => {
    for (const lines of [['Host: x:abc'], ['Host: evil.com/foo'], ['Host: a b'], ['Host: user@host'], ['Host: a?b'], ['Host: a', 'Host: b'], ['Host: [::1']]) {
      const answer = await rawRequest(port, get(`/ready?api_access_token=${DEMO_TOKEN}`, lines))
      expectJsonError(answer, 400)
      expect(answer.raw).not.toContain(DEMO_TOKEN)
      expect(answer.body.length).toBeLessThan(200)
    }
  })

  test('no runtime error page, whatever the request: every answer is JSON and small', async () => {
    const requests = [
      get(`/ready?api_access_token=${DEMO_TOKEN}`, ['Host: x:abc']),
      get(`${API}?api_access_token=${DEMO_TOKEN}`, ['Host: evil.com/foo']),
      get('/%zz', ['Host: localhost']),
      get('//double//slashes', ['Host: localhost']),
      get('http://elsewhere.example/health', ['Host: localhost']),
      'GET /health HTTP/1.0\r\nHost: \r\n\r\n',
    ]
    for (const text of requests) {
      const answer = await rawRequest(port, text)
      expect(answer.headers['content-type']).toStartWith('application/json')
      expect(answer.body).not.toContain('<')
      expect(answer.raw).not.toContain(DEMO_TOKEN)
    }
  })

  test('HEAD of an export says what GET would (chunked, no length), never Content-Length: 0', async () => {
    for (const query of ['format=csv', 'format=ndjson']) {
      const lines = ['Host: kpi', `api_access_token: ${DEMO_TOKEN}`]
      const got = await rawRequest(port, get(`${API}?${query}&since=0`, lines))
      const head = await rawRequest(port, get(`${API}?${query}&since=0`, lines).replace(/^GET/, 'HEAD'))
      expect(got.headers['transfer-encoding']).toBe('chunked') // the premise: a streamed export has no length up front
      expect([query, head.status, head.headers['content-length'], head.headers['transfer-encoding']]).toEqual([query, 200, undefined, 'chunked'])
      expect(head.headers['content-type']).toBe(got.headers['content-type']!)
      expect(head.body).toBe('')
    }
  })

  test('every one of them is counted in /metrics and logged as one JSON line, without the token', async () => {
    const before = logLines(service).length
    const answer = await rawRequest(port, get(`/ready?api_access_token=${DEMO_TOKEN}&page=2`, ['Host: x:abc', 'X-Request-Id: hostile-1']))
    expectJsonError(answer, 400)
    await Bun.sleep(100)
    const lines = logLines(service).slice(before)
    const line = lines.find((entry) => entry.request_id === 'hostile-1')
    expect(line).toMatchObject({ message: 'request', status: 400, method: 'GET', path: '/ready', query: 'page=2' })
    // The demo's banner prints its token for the newcomer; no log line holds it.
    expect(logLines(service).map((entry) => JSON.stringify(entry)).join('\n')).not.toContain(DEMO_TOKEN)
    const metrics = await (await fetch(`${service.adminUrl}/metrics`)).text()
    expect(metrics).toMatch(/kpi_http_requests_total\{status="400"\} [1-9]/)
  })

  test('dot segments, plain or encoded, never reach the metrics through the API\'s port (Bun collapses them before the service sees the path): 404', async () => {
    for (const target of [
      '/metrics',
      '/api/%2e%2e/metrics',
      `${API}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/metrics`,
      `${API}/.%2e/.%2e/.%2e/.%2e/metrics`,
      `${API}/../../../../metrics`,
      '/api\\..\\metrics',
    ]) {
      const answer = await rawRequest(port, get(target, ['Host: kpi']))
      expect([target, answer.status]).toEqual([target, 404])
      expect(answer.body).not.toContain('kpi_http_requests_total')
    }
    // They are on the admin listener, on loopback.
    expect(new URL(service.adminUrl).hostname).toBe('127.0.0.1')
    const admin = Number(new URL(service.adminUrl).port)
    expect(admin).not.toBe(port)
    const metrics = await rawRequest(admin, get('/metrics', ['Host: kpi']))
    expect([metrics.status, metrics.body]).toEqual([200, expect.stringContaining('kpi_http_requests_total')])
  })
})
