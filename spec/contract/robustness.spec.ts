// Bad input never breaks the endpoint: thousands of generated requests (random, repeated, huge,
// negative, fractional, exponent, unicode, empty and injection-shaped values for every parameter
// and the token header, unknown parameters, other methods, broken percent-encoding) each get a
// documented status, a JSON {"error"} body when it is an error, never a 5xx or a stack trace.
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { Value } from '@sinclair/typebox/value'
import { ConversationsPage } from '../../src/kpi/conversations.model.ts'
import { createHandler } from '../../src/http.ts'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('robustness: generated requests')

/** Requests per dialect and run: SQLite carries the bulk (10,000), PostgreSQL a share of its own. */
const RUNS = { sqlite: 10_000, postgres: 3_000 } as const
const DOCUMENTED = new Set([200, 401, 404, 405, 422, 429])
const PARAMETERS = ['account_id', 'since', 'until', 'sort_direction', 'page', 'page_size'] as const

const nasty = fc.constantFrom(
  '', ' ', '-', '+1', '1e3', '1E3', '0x10', '0b1', '0o7', 'NaN', 'Infinity', '-Infinity', '-0', '00', '007', '1.0', '.5', '5.',
  '١٢٣', '３', '1_000', '1,000', "' OR 1=1 --", '"; drop table conversations; --', '1; select pg_sleep(10)', '%00', '\u0000',
  'asc', 'desc', 'ASC', 'Desc', 'null', 'undefined', 'true', '[]', '{}', '<script>alert(1)</script>', '../../etc/passwd',
  '9007199254740993', '-9223372036854775809', '99999999999999999999999999', '2147483647', '2147483648', '-62135596801', '253402300800',
)
// Weighted so that most requests get past the token and reach the parameters' validation.
const value = fc.oneof(
  { weight: 4, arbitrary: nasty },
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double().map(String),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 1000, maxLength: 5000 }),
)
const query = fc
  .tuple(
    fc.array(
      fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...PARAMETERS) }, fc.constantFrom('per_page', 'status', 'api_access_token', ''), fc.string()), value),
      { maxLength: 6 },
    ),
    fc.option(fc.constantFrom('%', '%E0%A4%A', '%ZZ', '&&&', '==', 'since=%00', 'page=%FF', 'a[b]=1', 'since[]=1'), { nil: undefined }),
  )
  .map(([pairs, raw]) => [new URLSearchParams(pairs).toString(), raw].filter(Boolean).join('&'))
// Header values must be Latin-1 without line breaks; anything else cannot be sent at all.
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e\x80-\xff]/g, '')
const token = fc.option(
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(TOKENS.kpiTracker) },
    fc.constantFrom(TOKENS.otherUser, TOKENS.agentBot, TOKENS.platformApp, TOKENS.userWithoutEmail, '', ' ', "' OR '1'='1"),
    fc.string().map(headerSafe),
    fc.string({ minLength: 2000, maxLength: 8000 }).map(headerSafe),
  ),
  { nil: undefined, freq: 10 },
)
const request = fc.record({
  method: fc.oneof({ weight: 12, arbitrary: fc.constant('GET') }, fc.constantFrom('HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
  path: fc.oneof({ weight: 12, arbitrary: fc.constant('/api/v1/kpi/conversations') }, fc.constantFrom('/api/v1/kpi/conversations/', '/api/v1/kpi', '/', '/swagger/assets/x', '/API/V1/KPI/CONVERSATIONS')),
  query,
  token,
  spelling: fc.constantFrom('api_access_token', 'api-access-token'),
})

for (const dialect of DIALECTS) {
  describe(`[${dialect}] generated requests`, () => {
    const ctx = useDatabase(dialect)

    test(`${RUNS[dialect]} requests: a documented status, a JSON {"error"} for every error, never a 5xx`, async () => {
      // A generous limit: 429 is documented, but the other paths are what is being searched.
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit: 100_000 }), log: () => {} })
      let sent = 0
      await fc.assert(
        fc.asyncProperty(request, async ({ method, path, query, token, spelling }) => {
          const headers: Record<string, string> = token === undefined ? {} : { [spelling]: token }
          const response = await handle(new Request(`http://localhost${path}${query ? `?${query}` : ''}`, { method, headers }))
          sent++
          const text = await response.text()
          const where = `${method} ${path}?${query.slice(0, 300)} → ${response.status} ${text.slice(0, 300)}`
          if (!DOCUMENTED.has(response.status)) throw new Error(`undocumented status: ${where}`)
          if (/\bat\s+\S+:\d+:\d+|node_modules|\.ts:\d+/.test(text)) throw new Error(`internals in the body: ${where}`)
          if (method === 'HEAD') return
          const body = JSON.parse(text)
          if (response.status === 200) {
            if (!Value.Check(ConversationsPage, body)) throw new Error(`200 outside the schema: ${where}`)
          } else if (!(Object.keys(body).length === 1 && typeof body.error === 'string' && body.error.length > 0)) {
            throw new Error(`error body is not {"error"}: ${where}`)
          }
        }),
        { numRuns: RUNS[dialect], seed: Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647) },
      )
      expect(sent).toBeGreaterThanOrEqual(RUNS[dialect])
    }, 300_000)
  })
}
