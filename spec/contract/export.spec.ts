// CSV and NDJSON exports: the same auth, allowlist and filters as the pages, every row of the range
// in one streamed download (no page limit), RFC 4180 CSV with a header row, labels joined with ';'.
import { describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ConversationItem } from '../../src/kpi/conversations.model.ts'
import { CSV_COLUMNS, csvRow, exportFilename, exportFormatOf } from '../../src/kpi/conversations.export.ts'
import { toConversationItem } from '../../src/kpi/conversations.rules.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, ids, request } from '../helpers.ts'
import { openDatabase } from '../../src/db/dialect.ts'
import { ALL_VBET_ASC, CONTRACT_NOW, TOKENS } from '../../fixtures/contract-data-set.ts'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'

localOnly('exports: exact rows of the fixture data set')

const HEADER = 'id,display_id,account_id,created_time,resolved_time,chat_duration,status,labels,assignee_id,assignee_name,assignee_email,contact_id,contact_identifier'
const csvIds = (text: string) => text.split('\r\n').slice(1, -1).map((line) => Number(line.split(',')[0]))

describe('CSV rows', () => {
  const base = toConversationItem(
    { id: 1, displayId: 2, accountId: 3, createdAt: new Date('2026-01-10T08:30:00Z'), status: 1, additionalAttributes: {}, assignee: null, contact: null },
    [],
  )
  test('RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled; null is empty', () => {
    const item = { ...base, labels: ['a,b', 'c'], assignee: { id: 7, name: 'Smith, "Jane"\r\nJr', email: null }, contact: { id: 5, identifier: 'x' } }
    expect(csvRow(item)).toBe('1,2,3,2026-01-10T08:30:00Z,,,resolved,"a,b;c",7,"Smith, ""Jane""\r\nJr",,5,x')
  })
  test('the header names the columns in order', () => expect(CSV_COLUMNS.join(',')).toBe(HEADER))
  test('the format: format= first, then Accept', () => {
    expect(exportFormatOf('csv', null)).toBe('csv')
    expect(exportFormatOf(undefined, 'text/csv')).toBe('csv')
    expect(exportFormatOf(undefined, 'application/x-ndjson')).toBe('ndjson')
    expect(exportFormatOf('json', 'text/csv')).toBeUndefined()
    expect(exportFormatOf(undefined, 'application/json, */*')).toBeUndefined()
  })
  test('Accept is negotiated with its q-values: q=0 refuses a type, the highest q wins, then the more specific, then the client\'s order; JSON for wildcards', () => {
    expect(exportFormatOf(undefined, 'text/csv;q=0, application/json')).toBeUndefined()
    expect(exportFormatOf(undefined, 'text/csv;q=0')).toBeUndefined()
    expect(exportFormatOf(undefined, 'application/json;q=0.5, text/csv')).toBe('csv')
    expect(exportFormatOf(undefined, 'application/json;q=0.9, application/x-ndjson;q=0.8, text/csv;q=0.95')).toBe('csv')
    expect(exportFormatOf(undefined, 'text/csv;q=0.5, application/x-ndjson')).toBe('ndjson')
    expect(exportFormatOf(undefined, 'application/json, text/csv')).toBeUndefined()
    expect(exportFormatOf(undefined, 'text/csv, application/json')).toBe('csv')
    expect(exportFormatOf(undefined, 'text/csv;q=0.9, */*')).toBeUndefined()
    expect(exportFormatOf(undefined, '*/*')).toBeUndefined()
    expect(exportFormatOf(undefined, 'text/*')).toBe('csv')
    expect(exportFormatOf(undefined, 'TEXT/CSV')).toBe('csv')
    expect(exportFormatOf(undefined, 'image/png')).toBeUndefined()
    expect(exportFormatOf(undefined, '')).toBeUndefined()
  })
  test('Accept with media type parameters: the parameters of what is sent match (charset=utf-8, header=present); others do not', () => {
    expect(exportFormatOf(undefined, 'text/csv;charset=utf-8')).toBe('csv')
    expect(exportFormatOf(undefined, 'text/csv; charset=UTF-8; header=present')).toBe('csv')
    expect(exportFormatOf(undefined, 'text/csv;header=present')).toBe('csv')
    expect(exportFormatOf(undefined, 'application/x-ndjson; charset=utf-8')).toBe('ndjson')
    expect(exportFormatOf(undefined, 'text/*;charset=utf-8')).toBe('csv')
    // JSON with its charset is still JSON, and wins over a lower q.
    expect(exportFormatOf(undefined, 'application/json;charset=utf-8, text/csv;q=0.5')).toBeUndefined()
    // What cannot be sent as asked: a Latin-1 CSV, a CSV without its header row.
    expect(exportFormatOf(undefined, 'text/csv;charset=iso-8859-1')).toBeUndefined()
    expect(exportFormatOf(undefined, 'text/csv;header=absent')).toBeUndefined()
  })
  test('the filename names the range in UTC', () => {
    expect(exportFilename('csv', 1736467200, 1736553599)).toBe('kpi-conversations_20250110T000000Z_20250110T235959Z.csv')
  })
})

for (const dialect of DIALECTS) {
  describe(`[${dialect}] exports`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)

    test('format=csv: the whole range (page and page_size not used), a header row, CRLF, a BOM, a filename', async () => {
      const response = await conversations(app(), { format: 'csv', page: 3, page_size: 2 })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="kpi-conversations_19260120T000000Z_20260120T235959Z.csv"')
      expect(response.text.startsWith(`${HEADER}\r\n`)).toBe(true) // text() drops the BOM; the bytes below keep it
      expect(response.text.endsWith('\r\n')).toBe(true)
      expect(csvIds(response.text)).toEqual([...ALL_VBET_ASC])
      const lines = response.text.split('\r\n')
      expect(lines).toContain('101,5,3,2026-01-10T08:30:00Z,2026-01-10T09:15:00Z,2700,resolved,urgent;billing,7,Jane Smith,jane@example.com,55,ext-user-123')
      expect(lines).toContain('102,6,3,2026-01-11T10:00:00Z,,,open,,,,,,')
      expect(lines).toContain('103,7,3,2026-01-12T08:00:00Z,2026-01-12T10:00:00Z,3600,pending,vip;urgent;billing,8,Aram Petrosyan,,56,')
      const raw = await app().handle(new Request('http://localhost/api/v1/kpi/conversations?format=csv', { headers: { api_access_token: TOKENS.kpiTracker } }))
      expect([...new Uint8Array(await raw.arrayBuffer()).slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]) // UTF-8 BOM, for spreadsheets
    })

    test('Accept: text/csv asks the same; filters apply (account_id, since, until, sort_direction)', async () => {
      // 2026-01-10T00:00:00Z to 2026-01-13T10:00:00Z, account 3 only (201 of account 5 is left out), newest first.
      const response = await conversations(app(), { account_id: 3, since: 1768003200, until: 1768298400, sort_direction: 'desc' }, { headers: { accept: 'text/csv' } })
      expect(response.headers.get('content-type')).toStartWith('text/csv')
      expect(csvIds(response.text)).toEqual([105, 104, 103, 102, 101])
    })

    test('NDJSON (format=ndjson or Accept): one documented item a line, the same rows as the pages', async () => {
      for (const response of [await conversations(app(), { ...EVERYTHING, format: 'ndjson' }), await conversations(app(), EVERYTHING, { headers: { accept: 'application/x-ndjson' } })]) {
        expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
        const items = response.text.trimEnd().split('\n').map((line) => JSON.parse(line))
        for (const item of items) expect(Value.Check(ConversationItem, item)).toBe(true)
        expect(items.map((item) => item.id)).toEqual(ids(await conversations(app(), { ...EVERYTHING, page_size: 1000 })))
      }
    })

    test('format=json, or an Accept of JSON, is the documented page', async () => {
      const response = await conversations(app(), { format: 'json', page_size: 2 }, { headers: { accept: 'text/csv' } })
      expect(Object.keys(response.body)).toEqual(['meta', 'payload'])
      // q=0 refuses CSV: the page, not an export.
      const refused = await conversations(app(), { page_size: 2 }, { headers: { accept: 'text/csv;q=0, application/json' } })
      expect(refused.headers.get('content-type')).toStartWith('application/json')
      expect(Object.keys(refused.body)).toEqual(['meta', 'payload'])
    })

    test('HEAD of an export: the export\'s headers, no body, and no row read (only the token with the allowlist, one statement)', async () => {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        for (const [query, type] of [['format=csv', 'text/csv'], ['format=ndjson', 'application/x-ndjson']] as const) {
          statements.length = 0
          const response = await request(contractApp(connection), `/api/v1/kpi/conversations?${query}`, { method: 'HEAD' })
          expect(response.status).toBe(200)
          expect(response.headers.get('content-type')).toStartWith(type)
          expect(response.headers.get('content-disposition')).toStartWith('attachment; filename="kpi-conversations_')
          expect(response.text).toBe('')
          expect(statements).toHaveLength(1)
          expect(statements.some((text) => /"conversations"/.test(text))).toBe(false)
        }
        const denied = await request(contractApp(connection), '/api/v1/kpi/conversations?format=csv&account_id=4', { method: 'HEAD' })
        expect(denied.status).toBe(401)
      } finally {
        await connection.destroy()
      }
    })

    test('the same auth and allowlist: 401 {"error"} as JSON, before any row', async () => {
      for (const [query, token] of [[{ format: 'csv' }, null], [{ format: 'csv' }, TOKENS.otherUser], [{ format: 'ndjson', account_id: 4 }, TOKENS.kpiTracker]] as const) {
        const response = await conversations(app(), query, { token })
        expect(response.status).toBe(401)
        expect(response.headers.get('content-type')).toStartWith('application/json')
        expect(Object.keys(response.body)).toEqual(['error'])
      }
      expect((await conversations(app(), { format: 'xlsx' })).status).toBe(422)
    })
  })

  describe(`[${dialect}] an export of exactly two batches`, () => {
    // 2000 rows: the third read finds nothing, and the stream must still end (it once hung open).
    const ctx = useDatabase(dialect, () => demoDataSet({ conversations: 2000, vbetAccounts: 2, otherAccounts: 0, anchor: CONTRACT_NOW }))
    test('ends, with every row', async () => {
      const csv = await conversations(contractApp(ctx.connection), { format: 'csv' }, { token: DEMO_TOKEN })
      expect(csvIds(csv.text)).toHaveLength(2000)
    }, 15_000)
  })

  describe(`[${dialect}] an export longer than one batch`, () => {
    const ctx = useDatabase(dialect, () => demoDataSet({ conversations: 2600, vbetAccounts: 2, otherAccounts: 1, anchor: CONTRACT_NOW }))
    test('every row once, in order, across the batches of 1000', async () => {
      const app = contractApp(ctx.connection)
      const csv = await conversations(app, { format: 'csv' }, { token: DEMO_TOKEN })
      const rows = csvIds(csv.text)
      const pages: number[] = []
      for (let page = 1; page <= 3; page++) pages.push(...ids(await conversations(app, { page, page_size: 1000 }, { token: DEMO_TOKEN })))
      expect(rows.length).toBeGreaterThan(1000)
      expect(rows).toEqual(pages)
      expect(new Set(rows).size).toBe(rows.length)
    })
  })
}
