// The HTTP handler around the app: one JSON log line per request that never holds a token, a
// request id, and the per-token rate limit with its headers. /health and /ready.
import { describe, expect, test } from 'bun:test'
import { createHandler, type LogLine } from '../../src/http.ts'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { openDatabase } from '../../src/db/dialect.ts'
import { factsOf } from '../../src/ops/request-facts.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { appWithoutDatabase, contractApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

const PATH = '/api/v1/kpi/conversations'

for (const dialect of DIALECTS) {
  describe(`[${dialect}] requests as the server handles them`, () => {
    const ctx = useDatabase(dialect)
    const handler = (limit = 0) => {
      const lines: LogLine[] = []
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit }), log: (line) => lines.push(line) })
      const send = (path: string, headers: Record<string, string> = {}) => handle(new Request(`http://localhost${path}`, { headers }))
      return { lines, send }
    }

    test('one JSON log line per request: id, method, path, query, status, duration, items', async () => {
      const { lines, send } = handler()
      const response = await send(`${PATH}?page_size=3&sort_direction=desc`, { api_access_token: TOKENS.kpiTracker, 'x-request-id': 'trace-42' })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-request-id')).toBe('trace-42')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toEqual({
        level: 'info',
        message: 'request',
        request_id: 'trace-42',
        method: 'GET',
        path: PATH,
        query: 'page_size=3&sort_direction=desc',
        status: 200,
        duration_ms: expect.any(Number),
        items: 3,
      })
      expect(JSON.parse(JSON.stringify(lines[0]))).toEqual(lines[0]!) // plain JSON
    })

    test('a request id is made when none (or a malformed one) is given', async () => {
      const { lines, send } = handler()
      const response = await send('/health', { 'x-request-id': 'bad id with spaces' })
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(lines[0]!.request_id).toBe(response.headers.get('x-request-id')!)
    })

    test('no token ever appears in a log line: header, other spelling, query parameter, on 200, 401, 422, 404, 429', async () => {
      const { lines, send } = handler(2)
      const secrets = [TOKENS.kpiTracker, TOKENS.otherUser, 'made-up-token-0001']
      await send(PATH, { api_access_token: TOKENS.kpiTracker })
      await send(`${PATH}?since=x`, { api_access_token: TOKENS.kpiTracker })
      await send(PATH, { api_access_token: TOKENS.kpiTracker }) // 429
      await send(PATH, { 'api-access-token': TOKENS.otherUser })
      await send(`${PATH}?api_access_token=${TOKENS.kpiTracker}&page=1`)
      await send(`/nope?token=made-up-token-0001`, { api_access_token: 'made-up-token-0001' })
      expect(lines.map((line) => line.status)).toEqual([200, 422, 429, 401, 401, 404])
      const text = lines.map((line) => JSON.stringify(line)).join('\n')
      for (const secret of secrets) expect(text).not.toContain(secret)
      expect(lines[4]!.query).toBe('page=1')
    })

    test('past the limit: 429 {"error"} with Retry-After and RateLimit-Limit/Remaining/Reset; other tokens unaffected', async () => {
      const { send } = handler(3)
      const statuses: number[] = []
      let last: Response | undefined
      for (let i = 0; i < 4; i++) {
        last = await send(PATH, { api_access_token: TOKENS.kpiTracker })
        statuses.push(last.status)
      }
      expect(statuses).toEqual([200, 200, 200, 429])
      expect(await last!.json()).toEqual({ error: expect.stringContaining('Too many requests') })
      expect(last!.headers.get('content-type')).toStartWith('application/json')
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(last!.headers.get('ratelimit-limit')).toBe('3')
      expect(last!.headers.get('ratelimit-remaining')).toBe('0')
      expect(Number(last!.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
      expect((await send(PATH, { api_access_token: TOKENS.otherUser })).status).toBe(401) // its own window
      expect((await send('/health')).status).toBe(200) // not the API: not limited
    })

    test('failed authentications are limited per address: distinct unknown tokens end in 429 before the database, with the same headers', async () => {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        const handle = createHandler({
          app: contractApp(connection),
          rateLimiter: new RateLimiter({ limit: 1000 }),
          authFailures: new RateLimiter({ limit: 3 }),
          log: () => {},
        })
        const send = (headers: Record<string, string> = {}, query = '') => handle(new Request(`http://localhost${PATH}${query}`, { headers }))
        // The KPI tracker's own 401 (an account outside the allowlist) is not a failed authentication.
        expect((await send({ api_access_token: TOKENS.kpiTracker }, '?account_id=4')).status).toBe(401)
        const statuses: number[] = []
        for (let i = 0; i < 3; i++) statuses.push((await send({ api_access_token: `unknown-token-${i}` })).status)
        statuses.push((await send()).status) // no token at all: a failure too, but the window is full already
        expect(statuses).toEqual([401, 401, 401, 429])
        statements.length = 0
        const refused = await send({ api_access_token: 'unknown-token-99' })
        expect(refused.status).toBe(429)
        expect(statements).toEqual([])
        expect(await refused.json()).toEqual({ error: expect.stringContaining('failed authentications a minute from one address') })
        expect(refused.headers.get('ratelimit-limit')).toBe('3')
        expect(refused.headers.get('ratelimit-remaining')).toBe('0')
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
        expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
        expect((await handle(new Request('http://localhost/health'))).status).toBe(200) // not the API: not limited
      } finally {
        await connection.destroy()
      }
    })

    test('while the server drains, every answer says Connection: close (keep-alive clients reconnect elsewhere); before, none does', async () => {
      let draining = false
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit: 0 }), log: () => {}, draining: () => draining })
      const send = (path: string) => handle(new Request(`http://localhost${path}`, { headers: { api_access_token: TOKENS.kpiTracker } }))
      expect((await send(PATH)).headers.get('connection')).toBeNull()
      draining = true
      for (const path of [PATH, `${PATH}?format=csv`, '/health', '/nope']) expect((await send(path)).headers.get('connection')).toBe('close')
    })

    test('a 200 within the limit says how much is left', async () => {
      const { send } = handler(10)
      const response = await send(PATH, { api_access_token: TOKENS.kpiTracker })
      expect(response.headers.get('ratelimit-limit')).toBe('10')
      expect(response.headers.get('ratelimit-remaining')).toBe('9')
    })

    test('/health: 200 {"status":"ok"}; /ready: 200 {"status":"ready","shared_state":"memory"} while the database answers', async () => {
      const { send } = handler()
      const health = await send('/health')
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }])
      const ready = await send('/ready')
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', shared_state: 'memory' }])
    })
  })
}

describe('/ready without a database', () => {
  test('503 {"error"} promptly, while /health stays 200', async () => {
    const { app, connection } = appWithoutDatabase()
    try {
      const ready = await app.handle(new Request('http://localhost/ready'))
      expect(ready.status).toBe(503)
      expect(await ready.json()).toEqual({ error: 'The database is not reachable' })
      expect((await app.handle(new Request('http://localhost/health'))).status).toBe(200)
    } finally {
      await connection.destroy()
    }
  })
})

describe('a streamed export that fails midway', () => {
  test('is cut (the read fails), and its request gets a second log line: export incomplete, with the request id', async () => {
    const lines: LogLine[] = []
    // An app whose export fails after its first rows, as one does when the database goes away.
    const app = {
      handle: async (request: Request) => {
        factsOf(request).streamed = true
        let sent = false
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent) return controller.error(new Error('the database went away'))
            sent = true
            controller.enqueue(new TextEncoder().encode('id\r\n1\r\n'))
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/csv' } })
      },
    }
    const handle = createHandler({ app, rateLimiter: new RateLimiter({ limit: 0 }), log: (line) => lines.push(line) })
    const response = await handle(new Request(`http://localhost${PATH}?format=csv`, { headers: { 'x-request-id': 'export-7' } }))
    expect(response.status).toBe(200)
    await expect(response.text()).rejects.toThrow('the database went away')
    expect(lines.map((line) => [line.message, line.request_id])).toEqual([
      ['request', 'export-7'],
      ['export incomplete: the stream was cut', 'export-7'],
    ])
    expect(lines[1]!.level).toBe('error')
  })
})
