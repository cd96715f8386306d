// A client generated from openapi.json, as an integrator builds one: openapi-typescript's types
// (spec/client/openapi-types.ts, kept equal to the document by a spec) and openapi-fetch, against
// the service as a separate process. Every call below is checked by `tsc --strict` (the suite's
// type check) as well as at run time: a page, an error body, a cursor walk, an ETag re-poll.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import createClient from 'openapi-fetch'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { CLIENT_TYPES_FILE, clientTypesText, servedOpenApiText } from '../../scripts/openapi.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'
import type { paths } from './openapi-types.ts'

const PATH = '/api/v1/kpi/conversations'

test('spec/client/openapi-types.ts is what openapi-typescript generates from the served document (run `bun scripts/openapi.ts`)', async () => {
  expect(await Bun.file(CLIENT_TYPES_FILE).text()).toBe(await clientTypesText(await servedOpenApiText()))
})

describe.skipIf(REMOTE_BASE_URL !== undefined)('a typed client (openapi-typescript + openapi-fetch) against the service', () => {
  let service: ServiceProcess
  let client: ReturnType<typeof createClient<paths, 'application/json'>>
  beforeAll(async () => {
    service = await startService({ RATE_LIMIT_PER_MINUTE: '0' })
    // The media type argument: the page alone, not the CSV/NDJSON strings the same 200 may carry.
    client = createClient<paths, 'application/json'>({ baseUrl: service.url, headers: { api_access_token: DEMO_TOKEN } })
  })
  afterAll(async () => {
    await service?.stop()
  })

  test('a page: data typed as the documented page', async () => {
    const { data, error, response } = await client.GET(PATH, { params: { query: { page_size: '5', sort_direction: 'desc' } } })
    expect(error).toBeUndefined()
    expect(response.status).toBe(200)
    if (!data) throw new Error('no page')
    const total: number = data.meta.items_count
    const first = data.payload[0]
    if (!first) throw new Error('an empty page')
    const labels: string[] = first.labels
    const assignee: string | null | undefined = first.assignee?.name
    expect(total).toBeGreaterThan(5)
    expect(data.payload).toHaveLength(5)
    expect(Array.isArray(labels)).toBe(true)
    expect(assignee === null || assignee === undefined || typeof assignee === 'string').toBe(true)
  })

  test('an error: the {"error"} body, typed', async () => {
    const { data, error, response } = await client.GET(PATH, { params: { query: { account_id: '999999' } } })
    expect(data).toBeUndefined()
    expect(response.status).toBe(401)
    const message: string | undefined = error?.error
    expect(message).toContain('999999')
    const invalid = await client.GET(PATH, { params: { query: { since: 'yesterday' } } })
    expect(invalid.response.status).toBe(422)
    expect(invalid.error?.error).toContain('since')
  })

  test('a cursor walk: every row once, next_cursor null at the end', async () => {
    const first = await client.GET(PATH, { params: { query: { cursor: '', page_size: '400', since: '0' } } })
    if (!first.data) throw new Error('no first page')
    const total = first.data.meta.items_count
    const seen = new Set<number>(first.data.payload.map((item) => item.id))
    let cursor: string | null | undefined = first.data.meta.next_cursor
    let pages = 1
    while (cursor) {
      const next = await client.GET(PATH, { params: { query: { cursor } } })
      if (!next.data) throw new Error(`page ${pages + 1}: ${next.response.status}`)
      for (const item of next.data.payload) seen.add(item.id)
      cursor = next.data.meta.next_cursor
      pages++
    }
    expect(pages).toBe(Math.ceil(total / 400))
    expect(seen.size).toBe(total)
  })

  test('an ETag re-poll: 304 with no data while unchanged, handled by status', async () => {
    const query = { page_size: '3', since: '0', until: '1800000000' }
    const first = await client.GET(PATH, { params: { query } })
    const etag = first.response.headers.get('etag')
    expect(etag).toMatch(/^"[\w-]+"$/)
    const again = await client.GET(PATH, { params: { query, header: { 'If-None-Match': etag ?? '' } } })
    expect(again.response.status).toBe(304)
    // Not a 2xx: openapi-fetch gives no data; the client keeps the page it has.
    const page = again.response.status === 304 ? first.data : again.data
    expect(page?.payload).toHaveLength(3)
  })
})
