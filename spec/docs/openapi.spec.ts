// The OpenAPI document: served at /swagger/json, valid OpenAPI 3.1, complete (security, every
// parameter, every response with its schema), its 200 schema the very one the contract suite
// checks responses against, and equal to the committed openapi.json.
import { describe, expect, test } from 'bun:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Value } from '@sinclair/typebox/value'
import { ConversationsPage, DOCUMENTED_EXAMPLE, ErrorBody } from '../../src/kpi/conversations.model.ts'
import { MetricsPage } from '../../src/kpi/metrics.model.ts'
import { OPENAPI_FILE, servedOpenApiText } from '../../scripts/openapi.ts'
import { finishOpenApi } from '../../src/docs/openapi.ts'

const served = JSON.parse(await servedOpenApiText())
const operation = served.paths['/api/v1/kpi/conversations'].get
const parameter = (name: string) => operation.parameters.find((p: { name: string }) => p.name === name)
const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema))

describe('the OpenAPI document', () => {
  test('the committed openapi.json is the served document (run `bun scripts/openapi.ts` after changing the contract)', async () => {
    expect(await Bun.file(OPENAPI_FILE).text()).toBe(await servedOpenApiText())
  })

  test('validates as OpenAPI 3.1', async () => {
    expect(served.openapi).toBe('3.1.0')
    await SwaggerParser.validate(structuredClone(served))
  })

  test('the KPI operation under either spelling of the token header; the operational paths apart, without a token', () => {
    // /metrics is the admin listener's (src/ops/admin.ts), not the API's: not in the API's document.
    expect(Object.keys(served.paths).sort()).toEqual(['/api/v1/kpi/conversations', '/api/v1/kpi/conversations/changes', '/api/v1/kpi/conversations/metrics', '/health', '/ready'])
    for (const path of Object.keys(served.paths)) expect(Object.keys(served.paths[path])).toEqual(['get'])
    expect(served.components.securitySchemes.api_access_token).toMatchObject({ type: 'apiKey', in: 'header', name: 'api_access_token' })
    expect(served.components.securitySchemes.api_access_token_dashed).toMatchObject({ type: 'apiKey', in: 'header', name: 'api-access-token' })
    // Two requirement objects: either one satisfies.
    expect(operation.security).toEqual([{ api_access_token: [] }, { api_access_token_dashed: [] }])
    expect(operation.tags).toEqual(['KPI'])
    // The changes feed (opt-in): the same token rule, beside the documented operation.
    const feed = served.paths['/api/v1/kpi/conversations/changes'].get
    expect([feed.tags, feed.security]).toEqual([['KPI'], operation.security])
    expect(feed.parameters.map((p: { name: string }) => p.name)).toEqual(['start_time', 'cursor', 'account_id', 'page_size', 'format'])
    expect(feed.responses['200'].headers['X-Next-Cursor']).toBeDefined()
    // The KPI metrics: the same token rule.
    const metrics = served.paths['/api/v1/kpi/conversations/metrics'].get
    expect([metrics.tags, metrics.security]).toEqual([['KPI'], operation.security])
    for (const path of ['/health', '/ready']) {
      expect(served.paths[path].get.tags).toEqual(['Operations'])
      expect(served.paths[path].get.security).toEqual([])
    }
    expect(served.paths['/ready'].get.responses['503'].content['application/json'].schema).toMatchObject({ required: ['error'] })
  })

  test('servers, licence and contact are present (a relative server: the host that serves the document)', () => {
    expect(served.servers).toEqual([{ url: '/', description: expect.any(String) }])
    expect(served.info.license).toMatchObject({ name: expect.any(String), identifier: expect.stringMatching(/^LicenseRef-/) })
    expect(served.info.contact.name).toBeString()
  })

  test('every response of every operation declares the headers the service sends with it', () => {
    const headersOf = (path: string, status: string) =>
      Object.keys(served.paths[path].get.responses[status].headers ?? {}).filter((name) => served.components.headers[name] !== undefined)
    for (const path of Object.keys(served.paths)) {
      for (const status of Object.keys(served.paths[path].get.responses)) expect(headersOf(path, status)).toEqual(expect.arrayContaining(['X-Request-Id', 'X-Content-Type-Options']))
    }
    const rate = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']
    expect(headersOf('/api/v1/kpi/conversations', '200')).toEqual(expect.arrayContaining([...rate, 'ETag', 'Cache-Control', 'Content-Disposition']))
    expect(headersOf('/api/v1/kpi/conversations', '304')).toEqual(expect.arrayContaining([...rate, 'ETag']))
    for (const status of ['429', '503']) expect(headersOf('/api/v1/kpi/conversations', status)).toEqual(expect.arrayContaining([...rate, 'Retry-After']))
    expect(headersOf('/api/v1/kpi/conversations', 'default')).toContain('Allow')
    expect(headersOf('/ready', '503')).toContain('Retry-After')
  })

  test('If-None-Match is a documented header parameter', () => {
    expect(parameter('If-None-Match')).toMatchObject({ in: 'header', required: false, schema: { type: 'string' } })
  })

  test('every query parameter of the API document (and the opt-in format and cursor), optional, with its type, default, bounds and description', () => {
    expect(operation.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required])).toEqual([
      ['account_id', 'query', false],
      ['since', 'query', false],
      ['until', 'query', false],
      ['sort_direction', 'query', false],
      ['page', 'query', false],
      ['page_size', 'query', false],
      ['format', 'query', false],
      ['cursor', 'query', false],
      ['If-None-Match', 'header', false],
    ])
    // Integers in query text are plain decimal (1e3, +5, 0x10 are 422): a pattern says so, as a validator reads it.
    for (const name of ['account_id', 'since', 'until', 'page', 'page_size']) {
      expect(parameter(name).schema).toMatchObject({ type: 'string', pattern: '^-?[0-9]+$' })
      for (const text of ['1e3', '+5', '0x10', ' 5', '1.0', '']) expect(new RegExp(parameter(name).schema.pattern).test(text)).toBe(false)
      for (const text of ['5', '-3', '1736467200']) expect(new RegExp(parameter(name).schema.pattern).test(text)).toBe(true)
    }
    for (const name of ['since', 'until']) {
      expect(parameter(name).description).toContain('at least -62135596800, at most 253402300799')
      expect(parameter(name).description).toContain('Unix timestamp')
    }
    expect(parameter('since').description).toContain('100 years ago')
    expect(parameter('until').description).toContain('end of today')
    expect(parameter('sort_direction').schema).toMatchObject({ type: 'string', enum: ['asc', 'desc'], default: 'asc' })
    expect(parameter('page').schema).toMatchObject({ default: '1' })
    expect(parameter('page').description).toContain('at most 2147483647')
    expect(parameter('page_size').schema).toMatchObject({ default: '20' })
    expect(parameter('page_size').description).toContain('Clamped to [1, 1000]')
    for (const p of operation.parameters) {
      expect(p.description.length).toBeGreaterThan(10)
      expect(JSON.stringify(p.schema)).not.toContain('anyOf') // no coercion unions left
      expect(p.example).toBeUndefined() // Swagger UI would pre-fill it into every first try
    }
  })

  test('the 200 schema is the contract suite\'s ConversationsPage, and its example is the API document\'s', () => {
    const ok = operation.responses['200'].content['application/json']
    expect(ok.schema).toEqual(plain(ConversationsPage))
    expect(ok.example).toEqual(DOCUMENTED_EXAMPLE)
    expect(Value.Check(ConversationsPage, ok.example)).toBe(true)
  })

  test('nullable fields are documented as nullable, the others not', () => {
    const item = operation.responses['200'].content['application/json'].schema.properties.payload.items.properties
    const nullable = (field: string) => JSON.stringify(item[field]).includes('"type":"null"')
    expect(['resolved_time', 'chat_duration', 'assignee', 'contact'].filter(nullable)).toEqual(['resolved_time', 'chat_duration', 'assignee', 'contact'])
    expect(['id', 'display_id', 'account_id', 'created_time', 'status', 'labels'].filter(nullable)).toEqual([])
  })

  test('the exports and the 304 are documented', () => {
    expect(Object.keys(operation.responses['200'].content)).toEqual(['application/json', 'text/csv', 'application/x-ndjson'])
    expect(operation.responses['304'].description).toContain('If-None-Match')
    expect(operation.responses['304'].content).toBeUndefined()
  })

  test('400, 401, 422, 429, 503 and any other error (404, 405, 500): described, with the {"error"} schema and an example', () => {
    expect(Object.keys(operation.responses)).toEqual(['200', '304', '400', '401', '422', '429', '503', 'default'])
    for (const status of ['400', '401', '422', '429', '503', 'default']) {
      const response = operation.responses[status]
      expect(response.description.length).toBeGreaterThan(10)
      const json = response.content['application/json']
      expect(json.schema).toMatchObject({ type: 'object', required: ['error'], properties: { error: { type: 'string' } } })
      expect(Value.Check(ErrorBody, json.example)).toBe(true)
    }
    expect(operation.responses['401'].content['application/json'].example).toEqual({ error: 'Invalid Access Token' })
    expect(operation.responses.default.description).toContain('404')
    expect(operation.responses.default.description).toContain('405')
  })

  test('the API document\'s example requests are in the operation\'s description', () => {
    expect(operation.description).toContain('since=1736467200&until=1736553600&page=1&page_size=100')
    expect(operation.description).toContain('account_id=3&sort_direction=desc&page=1&page_size=50')
  })
})

describe('the KPI metrics operation in the document', () => {
  const metrics = served.paths['/api/v1/kpi/conversations/metrics'].get
  const metricsParameter = (name: string) => metrics.parameters.find((p: { name: string }) => p.name === name)

  test('its parameters: the rows endpoint\'s account_id, since and until as they are, then time_zone, group_by, format, If-None-Match', () => {
    expect(metrics.parameters.map((p: { name: string; in: string }) => [p.name, p.in])).toEqual([
      ['account_id', 'query'], ['since', 'query'], ['until', 'query'], ['time_zone', 'query'], ['group_by', 'query'], ['format', 'query'], ['If-None-Match', 'header'],
    ])
    for (const name of ['account_id', 'since', 'until']) expect(metricsParameter(name)).toEqual(parameter(name))
    expect(metricsParameter('time_zone').schema).toMatchObject({ type: 'string', default: 'UTC' })
    expect(metricsParameter('group_by').description).toContain('day, week, month, account, assignee, status, label')
  })

  test('the 200 schema is the contract suite\'s MetricsPage, its example valid; 304, 401, 422 and the rest documented', () => {
    const ok = metrics.responses['200'].content['application/json']
    expect(ok.schema).toEqual(plain(MetricsPage))
    expect(Value.Check(MetricsPage, ok.example)).toBe(true)
    expect(Object.keys(metrics.responses)).toEqual(['200', '304', '400', '401', '422', '429', '503', 'default'])
    expect(metrics.responses['422'].description).toContain('10,000 rows')
  })
})

describe('finishOpenApi', () => {
  const generated = {
    openapi: '3.0.3',
    components: { schemas: {} },
    paths: {
      '/x': {
        get: {
          parameters: [{ name: 'n', in: 'query', examples: [3], schema: { minimum: 1, anyOf: [{ type: 'string', format: 'integer', default: 0 }, { type: 'integer', minimum: 1 }] } }],
          responses: {
            200: { content: { 'application/json': { schema: { type: 'integer' } }, 'text/plain': { schema: { type: 'string' } } } },
            404: { description: 'from the generator', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
    },
  }
  const finished = finishOpenApi(generated, { operations: { 'GET /x': { 200: { description: 'fine', example: 7 } } } }) as any
  const integers = finishOpenApi(generated, { operations: {}, integerParameters: ['n'] }) as any

  test('unwraps the coercion unions, drops parameter examples, keeps the bounds', () => {
    expect(finished.paths['/x'].get.parameters).toEqual([{ name: 'n', in: 'query', schema: { minimum: 1, type: 'integer' } }])
  })
  test('an integer parameter becomes a decimal string, its bounds said in words', () => {
    expect(integers.paths['/x'].get.parameters).toEqual([
      { name: 'n', in: 'query', description: 'A decimal integer, at least 1.', schema: { description: 'A decimal integer, at least 1.', type: 'string', pattern: '^-?[0-9]+$' } },
    ])
  })
  test('responses: JSON only, with the given description and example, or the generator\'s description', () => {
    expect(finished.paths['/x'].get.responses).toEqual({
      200: { description: 'fine', content: { 'application/json': { schema: { type: 'integer' }, example: 7 } } },
      404: { description: 'from the generator', content: { 'application/json': { schema: { type: 'object' } } } },
    })
  })
  test('OpenAPI 3.1, without an empty schemas section', () => {
    expect(finished.openapi).toBe('3.1.0')
    expect(finished.components).toEqual({})
  })
})
