// The metrics as CSV (the rows endpoint's conventions: BOM, CRLF, RFC 4180 quoting, nulls empty)
// and re-polling by ETag, JSON and CSV alike, through the server's handler (src/http.ts adds the
// ETag); the rows endpoint's streamed export still carries none.
import { describe, expect, test } from 'bun:test'
import { createHandler } from '../../src/http.ts'
import { metricsCsv, metricsCsvColumns } from '../../src/kpi/metrics.csv.ts'
import type { MetricsPage } from '../../src/kpi/metrics.model.ts'
import { parseGroupBy } from '../../src/kpi/metrics.rules.ts'
import { RateLimiter } from '../../src/ops/rate-limit.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('metrics CSV and ETag through the handler: needs the fixture data set')

const PATH = '/api/v1/kpi/conversations/metrics'
const empty = { count: 0, mean: null, p50: null, p90: null, p95: null, max: null }

describe('metrics CSV text', () => {
  test('the asked keys in the API\'s order, the counts, then chat_duration_* and first_response_*', () => {
    expect(metricsCsvColumns(parseGroupBy('label,day,assignee')).join(',')).toBe(
      'period_start,assignee_id,assignee_name,label,conversations,resolved,open,pending,snoozed,' +
        'chat_duration_count,chat_duration_mean,chat_duration_p50,chat_duration_p90,chat_duration_p95,chat_duration_max,' +
        'first_response_count,first_response_mean,first_response_p50,first_response_p90,first_response_p95,first_response_max',
    )
  })

  test('quoted as the rows CSV quotes (commas, quotes, line breaks), nulls and a missing first_response empty, BOM and CRLF', () => {
    const page: MetricsPage = {
      meta: { since: 0, until: 1, time_zone: 'UTC', group_by: ['assignee', 'label'], items_count: 2 },
      payload: [
        { assignee_id: 7, assignee_name: 'Smith, "Jane"', label: 'a\r\nb', conversations: 2, resolved: 1, open: 1, pending: 0, snoozed: 0,
          chat_duration: { count: 1, mean: 2700.5, p50: 2700.5, p90: 2700.5, p95: 2700.5, max: 2701 }, first_response: null },
        { assignee_id: null, assignee_name: null, label: null, conversations: 1, resolved: 0, open: 1, pending: 0, snoozed: 0, chat_duration: empty, first_response: empty },
      ],
    }
    const text = metricsCsv(parseGroupBy('assignee,label'), page)
    expect(text.startsWith('\uFEFFassignee_id,assignee_name,label,conversations,')).toBe(true)
    expect(text).toContain('\r\n7,"Smith, ""Jane""","a\r\nb",2,1,1,0,0,1,2700.5,2700.5,2700.5,2700.5,2701,,,,,,\r\n')
    expect(text.endsWith('\r\n,,,1,0,1,0,0,0,,,,,,0,,,,,\r\n')).toBe(true)
  })
})

for (const dialect of DIALECTS) {
  describe(`[${dialect}] metrics over the server's handler`, () => {
    const ctx = useDatabase(dialect)
    const send = (path: string, headers: Record<string, string> = {}) => {
      const handle = createHandler({ app: contractApp(ctx.connection), rateLimiter: new RateLimiter({ limit: 0 }), log: () => {} })
      return handle(new Request(`http://localhost${path}`, { headers: { api_access_token: TOKENS.kpiTracker, ...headers } }))
    }
    const query = '?since=1768003200&until=1768953599&group_by=day,status'

    test('CSV by format=csv or Accept: text/csv: a BOM, the header, CRLF, Content-Disposition; NDJSON is not offered', async () => {
      for (const [path, headers] of [[`${PATH}${query}&format=csv`, {}], [`${PATH}${query}`, { accept: 'text/csv' }]] as const) {
        const response = await send(path, headers)
        expect(response.status).toBe(200)
        expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
        expect(response.headers.get('content-disposition')).toBe('attachment; filename="kpi-conversation-metrics_20260110T000000Z_20260120T235959Z.csv"')
        const bytes = new Uint8Array(await response.arrayBuffer())
        expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
        const text = new TextDecoder().decode(bytes.slice(3))
        expect(text.startsWith('period_start,status,conversations,')).toBe(true)
        expect(text.split('\r\n').length).toBeGreaterThan(10)
      }
      const ndjson = await send(`${PATH}${query}`, { accept: 'application/x-ndjson' })
      expect(ndjson.headers.get('content-type')).toStartWith('application/json')
      expect((await send(`${PATH}${query}&format=ndjson`)).status).toBe(422)
    })

    test('JSON and CSV each carry a strong ETag; If-None-Match with it: 304 and no body; the rows export still none', async () => {
      const etags: string[] = []
      for (const path of [`${PATH}${query}`, `${PATH}${query}&format=csv`]) {
        const first = await send(path)
        const etag = first.headers.get('etag')!
        expect(etag).toMatch(/^"[\w-]{32}"$/)
        expect(first.headers.get('cache-control')).toBe('private, no-store')
        expect((await send(path)).headers.get('etag')).toBe(etag)
        const again = await send(path, { 'if-none-match': etag })
        expect(again.status).toBe(304)
        expect(await again.text()).toBe('')
        expect((await send(path, { 'if-none-match': '"stale"' })).status).toBe(200)
        etags.push(etag)
      }
      expect(etags[0]).not.toBe(etags[1])
      expect((await send(`${PATH}${query.replace('day', 'week')}`)).headers.get('etag')).not.toBe(etags[0])
      expect((await send('/api/v1/kpi/conversations?format=csv')).headers.get('etag')).toBeNull()
    })
  })
}
