// A streamed export (CSV and NDJSON) and the JSON pages of the same range agree row by row: the
// export reads its rows its own way (on PostgreSQL one streaming statement, labels aggregated in
// it, attributes extracted by the database), so this proves both paths show every conversation
// the same, on the contract data set and on 100,000 generated rows whose attributes, names and
// labels are as hostile as the platform lets them be.
import { describe, expect, test } from 'bun:test'
import { csvRow } from '../../src/kpi/conversations.export.ts'
import type { ConversationItem } from '../../src/kpi/conversations.rules.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, type TestApp } from '../helpers.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'
import { buildAccessToken, buildUser, seededFaker, type Row } from '../../fixtures/builders.ts'
import { installationConfigRow, serializedAccountIds, type DataSet } from '../../fixtures/insert.ts'

localOnly('exports and pages agree: needs the fixture data sets')

/** Every page of `query` at page_size 1000, concatenated. */
async function allPages(app: TestApp, query: Record<string, string | number>): Promise<ConversationItem[]> {
  const items: ConversationItem[] = []
  for (let page = 1; ; page++) {
    const response = await conversations(app, { ...query, page, page_size: 1000 })
    expect(response.status).toBe(200)
    const { payload } = response.body as { payload: ConversationItem[] }
    items.push(...payload)
    if (payload.length < 1000) return items
  }
}

/** The export's CSV rows (header and BOM left out) and NDJSON items of `query`. */
async function exports(app: TestApp, query: Record<string, string | number>) {
  const csv = await conversations(app, { ...query, format: 'csv' })
  const ndjson = await conversations(app, { ...query, format: 'ndjson' })
  expect([csv.status, ndjson.status]).toEqual([200, 200])
  expect(csv.text.endsWith('\r\n')).toBe(true)
  // Split on the row terminator only where a row ends: a quoted field may hold CRLF itself.
  const csvRows = csv.text.slice(csv.text.indexOf('\r\n') + 2, -2)
  const ndjsonItems = ndjson.text.trimEnd().split('\n').filter(Boolean).map((line) => JSON.parse(line) as ConversationItem)
  return { csvRows, ndjsonItems }
}

/** Compares item by item, so a failure names the first conversation that differs, not a 100,000-row diff. */
function expectSameItems(actual: readonly ConversationItem[], expected: readonly ConversationItem[]) {
  expect(actual.length).toBe(expected.length)
  for (let index = 0; index < expected.length; index++) {
    if (!Bun.deepEquals(actual[index], expected[index], true)) expect({ index, item: actual[index] }).toEqual({ index, item: expected[index]! })
  }
}

function expectSameCsv(actual: string, expected: readonly ConversationItem[]) {
  const lines = expected.map((item) => csvRow(item))
  if (actual === lines.join('\r\n')) return
  // Find the first row that differs (rows may hold CRLF inside quotes: compare prefixes).
  let offset = 0
  for (const [index, line] of lines.entries()) {
    const got = actual.slice(offset, offset + line.length)
    if (got !== line) expect({ index, row: got }).toEqual({ index, row: line })
    offset += line.length + 2
  }
  expect(actual.length).toBe(offset - 2)
}

const QUERIES: Array<[string, Record<string, string | number>]> = [
  ['the default range', {}],
  ['everything, newest first', { ...EVERYTHING, sort_direction: 'desc' }],
  ['one account', { ...EVERYTHING, account_id: 5 }],
  ['a few days', { since: 1768003200, until: 1768298400 }],
]

// Values a resolved_time or reopen_time may hold in additional_attributes (the JSON text as stored):
// ISO text with and without offset or fraction, Unix seconds and milliseconds as numbers and strings,
// exponents, whitespace, and what is not a time at all.
const TIME_VALUES = [
  '"2026-01-10T09:15:00Z"', '"2026-01-10T11:15:00+02:00"', '"2026-01-10 09:15:00"', '"2026-01-10T09:15:00.999Z"',
  '"2026-01-10 09:15:00 UTC"', '"2026-01-10T09:15:00-0330"', '"2026-02-30T00:00:00Z"', '"  2026-01-10T09:15:00Z  "',
  '1768036500', '1768036500.75', '1768036500000', '1.7680365e9', '17680365E5', '1.7680365e12', '-1', '0', '-0', '1e400', '99999999999999999999',
  '"1768036500"', '" 1768036500 "', '"1768036500000"', '"1.5e9"', '"+1768036500"', '"-86400"',
  'true', 'false', 'null', '""', '" "', '"not a date"', '{}', '{"at": "2026-01-10T09:15:00Z"}', '[]', '["2026-01-10T09:15:00Z"]',
  '"\\u0032026-01-10T09:15:00Z"', '"2026-01-10T09:15:00Z\\n"', '"99999-01-01T00:00:00Z"', '253402300800', '-62135596801',
]
const TEXTS = ['plain', 'with, comma', 'with "quotes"', 'line\r\nbreak', 'line\nfeed', 'semi;colon', '', ' padded ', 'ünïcödé 中文 🙂', '=SUM(A1)']

/** 100,000 conversations in the VBET accounts 3 and 5 (and some in 4, outside them), deterministic. */
function generatedDataSet(count: number): DataSet {
  const faker = seededFaker(13)
  const pick = <T>(values: readonly T[]) => values[faker.number.int({ min: 0, max: values.length - 1 })]!
  const users: Row<'users'>[] = [buildUser(faker, { id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' })]
  for (let id = 2; id <= 40; id++) users.push(buildUser(faker, { id, name: pick(TEXTS), email: faker.datatype.boolean() ? pick(TEXTS) : null }))
  const contacts: Row<'contacts'>[] = []
  for (let id = 1; id <= 500; id++) contacts.push({ id, account_id: 3, name: null, identifier: faker.datatype.boolean(0.8) ? `${pick(TEXTS)} ${id}` : null })
  const tags: Row<'tags'>[] = TEXTS.filter(Boolean).map((name, index) => ({ id: index + 1, name }))
  const conversationRows: Row<'conversations'>[] = []
  const taggings: Row<'taggings'>[] = []
  const start = Date.UTC(2025, 0, 1)
  for (let id = 1; id <= count; id++) {
    // Several conversations in one second and in one microsecond: the order's tie-breaks matter.
    const at = new Date(start + Math.floor(id / 3) * 1000 + (id % 3 === 0 ? 0 : 250)).toISOString().replace('T', ' ').replace('Z', '')
    const attributes: string[] = ['"browser_language": "en"']
    if (faker.datatype.boolean(0.8)) attributes.push(`"resolved_time": ${pick(TIME_VALUES)}`)
    if (faker.datatype.boolean(0.3)) attributes.push(`"reopen_time": ${pick(TIME_VALUES)}`)
    if (faker.datatype.boolean(0.02)) attributes.push(`"resolved_time": ${pick(TIME_VALUES)}`) // a repeated key: the last one counts
    conversationRows.push({
      id,
      account_id: faker.datatype.boolean(0.05) ? 4 : pick([3, 5]),
      inbox_id: 1,
      display_id: id,
      status: faker.number.int({ min: 0, max: 4 }),
      assignee_id: faker.datatype.boolean(0.7) ? faker.number.int({ min: 2, max: 40 }) : null,
      contact_id: faker.datatype.boolean(0.8) ? faker.number.int({ min: 1, max: 500 }) : null,
      additional_attributes: faker.datatype.boolean(0.01) ? pick(['[]', '"text"', '12', 'null']) : `{${attributes.join(', ')}}`,
      cached_label_list: null,
      created_at: at,
      updated_at: at,
    })
    for (let n = faker.number.int({ min: 0, max: 3 }); n > 0; n--) {
      taggings.push({ id: taggings.length + 1, tag_id: pick(tags).id!, taggable_type: 'Conversation', taggable_id: id, context: pick(['labels', 'labels', 'labels', 'skills']) })
    }
  }
  return {
    users,
    access_tokens: [buildAccessToken(faker, { id: 1, owner_id: 1, token: TOKENS.kpiTracker })],
    accounts: [3, 4, 5].map((id) => ({ id, name: `Account ${id}` })),
    contacts,
    conversations: conversationRows,
    tags,
    taggings,
    installation_configs: [installationConfigRow(serializedAccountIds('3,5'))],
  }
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the contract data set: exports and pages agree`, () => {
    const ctx = useDatabase(dialect)
    test.each(QUERIES)('%s: every CSV row and NDJSON item is the page item', async (_name, query) => {
      const app = contractApp(ctx.connection)
      const pages = await allPages(app, query)
      expect(pages.length).toBeGreaterThan(0)
      const { csvRows, ndjsonItems } = await exports(app, query)
      expectSameItems(ndjsonItems, pages)
      expectSameCsv(csvRows, pages)
    })
  })

  describe(`[${dialect}] 100,000 generated conversations: exports and pages agree`, () => {
    const ctx = useDatabase(dialect, () => generatedDataSet(100_000), { timeout: 180_000 })
    test('every row of the whole range, oldest first and newest first, and of one account', async () => {
      const app = contractApp(ctx.connection)
      let pages: ConversationItem[] = []
      for (const query of [EVERYTHING, { ...EVERYTHING, sort_direction: 'desc' }, { ...EVERYTHING, account_id: 5 }]) {
        pages = await allPages(app, query)
        expect(pages.length).toBeGreaterThan(query === EVERYTHING ? 90_000 : 40_000)
        const { csvRows, ndjsonItems } = await exports(app, query)
        expectSameItems(ndjsonItems, pages)
        expectSameCsv(csvRows, pages)
      }
      // The generated values reach every outcome: times, nulls for what is not one, and several labels.
      expect(pages.some((item) => item.chat_duration !== null && item.resolved_time !== null)).toBe(true)
      expect(pages.some((item) => item.chat_duration === null && item.resolved_time !== null)).toBe(true)
      expect(pages.some((item) => item.resolved_time === null)).toBe(true)
      expect(pages.some((item) => item.labels.length > 1)).toBe(true)
    }, 240_000)
  })
}
