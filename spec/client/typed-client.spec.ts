// A client generated from openapi.json, as an integrator builds one: openapi-typescript's types
// (spec/client/openapi-types.ts, kept equal to the document by a spec) and openapi-fetch, against
// the service as a separate process. Every call below is checked by `tsc --strict` (the suite's
// type check) as well as at run time: a page, an error body, a cursor walk, an ETag re-poll, the
// changes feed's items, a live one and a deletion, and the KPI metrics.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createClient from 'openapi-fetch'
import { openDatabase, type Connection } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { installCapture } from '../../src/sync/capture.ts'
import { insertDataSet, installationConfigRow, serializedAccountIds } from '../../fixtures/insert.ts'
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

  test('the KPI metrics: rows typed with their keys and statistics; a bad time zone is a typed 422', async () => {
    const path = '/api/v1/kpi/conversations/metrics'
    const since = String(Math.floor(Date.now() / 1000) - 120 * 86_400)
    const { data, error, response } = await client.GET(path, { params: { query: { group_by: 'day,account', time_zone: 'Europe/Berlin', since } } })
    expect([error, response.status]).toEqual([undefined, 200])
    if (!data) throw new Error('no metrics')
    const keys: Array<'day' | 'week' | 'month' | 'account' | 'assignee' | 'status' | 'label'> = data.meta.group_by
    const first = data.payload[0]
    if (!first) throw new Error('no rows')
    const start: string | undefined = first.period_start
    const median: number | null = first.chat_duration.p50
    const replies: number | undefined = first.first_response?.count
    expect(keys).toEqual(['day', 'account'])
    expect(start).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\+0[12]:00$/)
    expect(median === null || typeof median === 'number').toBe(true)
    expect(typeof replies).toBe('number')
    expect(data.payload.reduce((sum, row) => sum + row.conversations, 0)).toBeGreaterThan(1000)
    const invalid = await client.GET(path, { params: { query: { time_zone: '+02:00' } } })
    expect(invalid.response.status).toBe(422)
    expect(invalid.error?.error).toContain('time_zone')
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

describe.skipIf(REMOTE_BASE_URL !== undefined)('a typed client of the changes feed (exact mode): live items and a deletion item', () => {
  const FEED = '/api/v1/kpi/conversations/changes'
  const TOKEN = 'typed-client-feed-token-01'
  let directory: string
  let writer: Connection
  let service: ServiceProcess
  let client: ReturnType<typeof createClient<paths, 'application/json'>>
  beforeAll(async () => {
    // A database of its own with the change capture installed, served by the real service.
    directory = mkdtempSync(join(tmpdir(), 'kpi-typed-feed-'))
    const config = { dialect: 'sqlite', filename: join(directory, 'feed.sqlite'), isEmbeddedDefault: false } as const
    writer = openDatabase(config, { readonly: false })
    await migrateToLatest(writer)
    const at = '2026-01-10 08:00:00'
    await insertDataSet(writer, {
      users: [{ id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' }],
      access_tokens: [{ id: 1, owner_type: 'User', owner_id: 1, token: TOKEN }],
      conversations: [1, 2].map((id) => ({ id, account_id: 1, inbox_id: 1, display_id: id, created_at: at, updated_at: at })),
      installation_configs: [installationConfigRow(serializedAccountIds('1'))],
    })
    await installCapture(writer, { retentionDays: 30 })
    service = await startService({ DATABASE_URL: `sqlite:${config.filename}`, RATE_LIMIT_PER_MINUTE: '0' })
    client = createClient<paths, 'application/json'>({ baseUrl: service.url, headers: { api_access_token: TOKEN } })
  })
  afterAll(async () => {
    await service?.stop()
    await writer?.destroy()
    rmSync(directory, { recursive: true, force: true })
  })

  test('a walk, a deletion, the resumed walk: items typed as a union told apart by `deleted`', async () => {
    const first = await client.GET(FEED, { params: { query: { start_time: '0' } } })
    if (!first.data) throw new Error(`no first page: ${first.response.status}`)
    const exact: boolean = first.data.meta.exact
    expect(exact).toBe(true)
    let cursor: string = first.data.meta.next_cursor
    const live: number[] = first.data.payload.map((item) => item.id)
    for (let page = first.data; !page.meta.end_of_stream; ) {
      const next = await client.GET(FEED, { params: { query: { cursor } } })
      if (!next.data) throw new Error(`no page: ${next.response.status}`)
      page = next.data
      live.push(...page.payload.map((item) => item.id))
      cursor = page.meta.next_cursor
    }
    expect(live.sort()).toEqual([1, 2])

    await writer.db.deleteFrom('conversations').where('id', '=', 2).execute()
    const resumed = await client.GET(FEED, { params: { query: { cursor } } })
    const item = resumed.data?.payload[0]
    if (!item) throw new Error(`no item: ${resumed.response.status}`)
    if (item.deleted) {
      // A deletion: id, account and when; no fields of a live conversation.
      const id: number = item.id
      const account: number = item.account_id
      expect({ id, account }).toEqual({ id: 2, account: 1 })
      expect(Object.keys(item).sort()).toEqual(['account_id', 'deleted', 'id', 'updated_time'])
    } else {
      const labels: string[] = item.labels
      throw new Error(`a live item where a deletion was expected (labels ${labels.join(',')})`)
    }
  })
})
