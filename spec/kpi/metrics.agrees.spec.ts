// The metrics are exact: on the contract data set and on 100,000 generated conversations (hostile
// attributes, labels tagged twice, assignees that point at no user, unknown statuses, first replies
// before their conversation, created_at around four daylight-saving changes), in six time zones,
// every figure equals what the rows endpoint's payload gives (first_response from the data set
// itself: the rows do not carry it); on PostgreSQL every statistic also equals what PostgreSQL
// computes from those values itself (percentile_cont, avg, round); and both dialects answer the
// very same JSON.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import type { ConversationItem } from '../../src/kpi/conversations.rules.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, request, type TestApp } from '../helpers.ts'
import { comparable, metricsOfGroups, recomputeGroups, valuesOf, type Recompute } from '../contract/metrics-recompute.ts'
import { contractDataSet, TOKENS } from '../../fixtures/contract-data-set.ts'
import { buildAccessToken, buildUser, seededFaker, type Row } from '../../fixtures/builders.ts'
import { installationConfigRow, serializedAccountIds, type DataSet } from '../../fixtures/insert.ts'
import type { Connection } from '../../src/db/dialect.ts'

localOnly('the metrics recomputed from the rows: needs the fixture data sets')

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/Sao_Paulo']

/** Whole Unix seconds of a stored timestamp text (`YYYY-MM-DD HH:MM:SS[.ffffff]` or ISO with T and Z), read by slicing. */
const storedSeconds = (text: string) => Date.parse(`${text.slice(0, 19).replace(' ', 'T')}Z`) / 1000

/** first_reply_created_at − created_at in whole seconds, by conversation id, from the data set as inserted. */
function firstResponses(dataSet: DataSet): (id: number) => number | null {
  const byId = new Map<number, number | null>()
  for (const row of dataSet.conversations ?? []) {
    const reply = row.first_reply_created_at
    byId.set(row.id!, reply === null || reply === undefined ? null : storedSeconds(reply) - storedSeconds(row.created_at))
  }
  return (id) => byId.get(id) ?? null
}

/** Every page of the rows endpoint for since/until, at page_size 1000. */
async function allRows(app: TestApp, since: number, until: number): Promise<ConversationItem[]> {
  const items: ConversationItem[] = []
  for (let page = 1; ; page++) {
    const response = await conversations(app, { since, until, page, page_size: 1000 })
    expect(response.status).toBe(200)
    items.push(...(response.body.payload as ConversationItem[]))
    if (response.body.payload.length < 1000) return items
  }
}

function metricsPath(query: Record<string, string | number>): string {
  return `/api/v1/kpi/conversations/metrics?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`
}

/** Compares row by row, so a failure names the first row that differs. */
function expectSameRows(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[], what: string) {
  for (let index = 0; index < Math.max(actual.length, expected.length); index++) {
    if (!Bun.deepEquals(actual[index], expected[index], true)) expect({ what, index, row: actual[index] }).toEqual({ what, index, row: expected[index]! })
  }
}

/**
 * PostgreSQL's own figures for each group's values (scalar percentile_cont, avg, round), compared
 * with the answer's: the arithmetic of the statistics, checked by the database itself.
 */
async function expectPostgresFigures(connection: Connection, payload: readonly Record<string, any>[], groups: ReturnType<typeof recomputeGroups>, options: Pick<Recompute, 'firstResponse'>) {
  for (const measure of ['chat_duration', 'first_response'] as const) {
    const indexes: number[] = []
    const values: number[] = []
    groups.forEach((group, index) => {
      const found = valuesOf(group, options)[measure === 'chat_duration' ? 'chat' : 'first']
      for (const value of found) {
        indexes.push(index)
        values.push(value)
      }
    })
    const { rows } = await sql<{ g: number; count: string; mean: string; p50: string; p90: string; p95: string; max: string }>`
      select g, count(v) as count, round(avg(v), 3)::text as mean,
        round((percentile_cont(0.5) within group (order by v))::numeric, 3)::text as p50,
        round((percentile_cont(0.9) within group (order by v))::numeric, 3)::text as p90,
        round((percentile_cont(0.95) within group (order by v))::numeric, 3)::text as p95,
        max(v)::text as max
      from unnest(${`{${indexes.join(',')}}`}::int[], ${`{${values.join(',')}}`}::bigint[]) as t(g, v) group by g`.execute(connection.db)
    const bySql = new Map(rows.map((row) => [Number(row.g), { count: Number(row.count), mean: Number(row.mean), p50: Number(row.p50), p90: Number(row.p90), p95: Number(row.p95), max: Number(row.max) }]))
    payload.forEach((row, index) => {
      const stats = row[measure]
      if (stats === null) return
      const expected = bySql.get(index) ?? { count: 0, mean: null, p50: null, p90: null, p95: null, max: null }
      if (!Bun.deepEquals(stats, expected)) expect({ measure, index, stats }).toEqual({ measure, index, stats: expected })
    })
  }
}

/** What each dialect answered, by request: both must be the same JSON. */
const answered = new Map<string, Map<string, string>>()

interface Case {
  readonly since: number
  readonly until: number
  readonly zone: string
  readonly groupBy: readonly string[]
}

async function checkCases(dialect: string, connection: Connection, dataSet: DataSet, cases: readonly Case[]) {
  const app = contractApp(connection)
  const firstResponse = firstResponses(dataSet)
  const rowsByRange = new Map<string, ConversationItem[]>()
  for (const { since, until, zone, groupBy } of cases) {
    const range = `${since}|${until}`
    if (!rowsByRange.has(range)) rowsByRange.set(range, await allRows(app, since, until))
    const items = rowsByRange.get(range)!
    const query = { since, until, time_zone: zone, group_by: groupBy.join(',') }
    const path = metricsPath(query)
    const answer = await request(app, path)
    expect({ path, status: answer.status }).toEqual({ path, status: 200 })
    const options = { since, until, timeZone: zone, groupBy, firstResponse }
    // The groups once, for both checks (recomputed twice, they took 8 of the 65 s on PostgreSQL here).
    const groups = recomputeGroups(items, options)
    expectSameRows(comparable(answer.body.payload), metricsOfGroups(groups, options), path)
    if (dialect === 'postgres') await expectPostgresFigures(connection, answer.body.payload, groups, options)
    const byDialect = answered.get(path) ?? new Map<string, string>()
    byDialect.set(dialect, answer.text)
    answered.set(path, byDialect)
  }
}

const CONTRACT_RANGE = { since: 1768003200, until: 1768953599 } // 2026-01-10 to the end of 2026-01-20, UTC
const CONTRACT_CASES: Case[] = [
  ...ZONES.flatMap((zone) => [[], ['day'], ['week', 'account'], ['label', 'day'], ['status', 'assignee']].map((groupBy) => ({ ...CONTRACT_RANGE, zone, groupBy }))),
  { since: 1768039200, until: 1768298400, zone: 'Asia/Yerevan', groupBy: ['day', 'account', 'assignee', 'status', 'label'] },
  { since: -1386892800, until: 1768953599, zone: 'UTC', groupBy: ['month', 'account'] },
]

/** The generated range: 2025-10-20 to 2026-04-10, around the changes of 2025-10-26 (EU), 2025-11-02 (US), 2026-03-08 (US), 2026-03-29 (EU), 2026-04-05 (Lord Howe). */
const START = Date.UTC(2025, 9, 20)
const END = Date.UTC(2026, 3, 10)
const WHOLE = { since: START / 1000, until: END / 1000 - 1 }
// Partial first and last days: since at 05:17:23, until at 20:42:01 (UTC).
const PARTIAL = { since: WHOLE.since + 19_043, until: WHOLE.until - 11_638 }
const GENERATED_CASES: Case[] = [
  ...ZONES.map((zone) => ({ ...WHOLE, zone, groupBy: ['day'] })),
  ...ZONES.map((zone) => ({ ...PARTIAL, zone, groupBy: ['week', 'account'] })),
  { ...WHOLE, zone: 'Europe/Berlin', groupBy: ['month', 'status', 'label'] },
  { ...PARTIAL, zone: 'America/New_York', groupBy: ['day', 'assignee'] },
  { ...WHOLE, zone: 'UTC', groupBy: ['account', 'assignee', 'status', 'label'] },
  { ...WHOLE, zone: 'Australia/Lord_Howe', groupBy: ['label'] },
  { ...PARTIAL, zone: 'Asia/Kathmandu', groupBy: [] },
]

const TIME_VALUES = [
  '"2026-01-10T09:15:00Z"', '"2026-01-10T11:15:00+02:00"', '"2026-01-10 09:15:00"', '"2026-01-10T09:15:00.999Z"', '"2026-01-10 09:15:00 UTC"',
  '"2026-01-10T09:15:00-0330"', '"2026-02-30T00:00:00Z"', '"  2026-01-10T09:15:00Z  "', '1768036500', '1768036500.75', '1768036500000', '1.7680365e9',
  '-1', '0', '1e400', '"1768036500"', '" 1768036500 "', '"1.5e9"', 'true', 'null', '""', '" "', '"not a date"', '{}', '[]', '253402300800',
]
const LABELS = ['billing', 'urgent', 'vip', 'Zeta', 'éclair', 'ﬃ', '𝒜', 'with, comma', '']

/** 100,000 conversations around four daylight-saving changes, deterministic. */
function generatedDataSet(count: number): DataSet {
  const faker = seededFaker(2326)
  const pick = <T>(values: readonly T[]) => values[faker.number.int({ min: 0, max: values.length - 1 })]!
  const users: Row<'users'>[] = [buildUser(faker, { id: 1, name: 'KPI Tracker', email: 'kpi_tracker@vbet.com' })]
  for (let id = 2; id <= 30; id++) users.push(buildUser(faker, { id }))
  const tags: Row<'tags'>[] = LABELS.map((name, index) => ({ id: index + 1, name }))
  const rows: Row<'conversations'>[] = []
  const taggings: Row<'taggings'>[] = []
  const text = (ms: number, micros: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.${String(micros).padStart(6, '0')}`
  for (let id = 1; id <= count; id++) {
    const createdMs = START + faker.number.int({ min: 0, max: END - START - 1 })
    const micros = faker.number.int({ min: 0, max: 999_999 })
    const attributes: string[] = []
    const resolved = faker.number.float({ min: 0, max: 1 })
    if (resolved < 0.6) attributes.push(`"resolved_time": "${new Date(createdMs + faker.number.int({ min: -600_000, max: 3 * 86_400_000 })).toISOString()}"`)
    else if (resolved < 0.75) attributes.push(`"resolved_time": ${pick(TIME_VALUES)}`)
    if (faker.datatype.boolean(0.15)) attributes.push(`"reopen_time": ${faker.datatype.boolean(0.8) ? `"${new Date(createdMs + faker.number.int({ min: 0, max: 3_600_000 })).toISOString()}"` : pick(TIME_VALUES)}`)
    const reply = faker.number.float({ min: 0, max: 1 })
    rows.push({
      id,
      account_id: faker.datatype.boolean(0.05) ? 4 : pick([3, 5]),
      inbox_id: 1,
      display_id: id,
      status: faker.helpers.weightedArrayElement([{ weight: 30, value: 0 }, { weight: 50, value: 1 }, { weight: 10, value: 2 }, { weight: 8, value: 3 }, { weight: 2, value: 7 }]),
      assignee_id: faker.datatype.boolean(0.8) ? faker.number.int({ min: 2, max: 31 }) : null, // 31: no such user
      contact_id: null,
      additional_attributes: `{${attributes.join(', ')}}`,
      cached_label_list: null,
      created_at: text(createdMs, micros),
      updated_at: text(createdMs, micros),
      // Null for some; most seconds to hours after; a few before (as stored).
      first_reply_created_at: reply < 0.2 ? null : text(createdMs + faker.number.int({ min: reply < 0.23 ? -120_000 : 5_000, max: 6 * 3_600_000 }), faker.number.int({ min: 0, max: 999_999 })),
    })
    for (let n = faker.helpers.weightedArrayElement([{ weight: 40, value: 0 }, { weight: 35, value: 1 }, { weight: 25, value: 2 }]); n > 0; n--) {
      // Tagged twice sometimes: a label counts once.
      taggings.push({ id: taggings.length + 1, tag_id: pick(tags).id!, taggable_type: 'Conversation', taggable_id: id, context: faker.datatype.boolean(0.95) ? 'labels' : 'skills' })
    }
  }
  return {
    users,
    access_tokens: [buildAccessToken(faker, { id: 1, owner_id: 1, token: TOKENS.kpiTracker })],
    accounts: [3, 4, 5].map((id) => ({ id, name: `Account ${id}` })),
    conversations: rows,
    tags,
    taggings,
    installation_configs: [installationConfigRow(serializedAccountIds('3,5'))],
  }
}

const generated = generatedDataSet(100_000)

for (const dialect of DIALECTS) {
  describe(`[${dialect}] the metrics of the contract data set`, () => {
    const ctx = useDatabase(dialect)

    test('the totals, by hand: 15 conversations, chat_duration of six, first response of seven (one negative)', async () => {
      const answer = await request(contractApp(ctx.connection), metricsPath({}))
      expect(answer.body.payload).toEqual([
        {
          conversations: 15, resolved: 7, open: 5, pending: 1, snoozed: 1,
          // 2700, 3600, 3600, 3600, 3600, 7200: the median between the 3rd and 4th, p90 at 4.5, p95 at 4.75.
          chat_duration: { count: 6, mean: 4050, p50: 3600, p90: 5400, p95: 6300, max: 7200 },
          // −30, 7, 45, 60, 130, 600, 1200: mean 2012 / 7.
          first_response: { count: 7, mean: 287.429, p50: 60, p90: 840, p95: 1020, max: 1200 },
        },
      ])
    })

    test('every figure of every grouping, in six time zones, equals the rows endpoint\'s (and, on PostgreSQL, PostgreSQL\'s own)', async () => {
      await checkCases(dialect, ctx.connection, contractDataSet(), CONTRACT_CASES)
    }, 60_000)
  })

  describe(`[${dialect}] the metrics of 100,000 generated conversations`, () => {
    const ctx = useDatabase(dialect, () => generated, { timeout: 180_000 })
    test('every figure of every grouping, in six time zones, across daylight-saving changes, equals the rows endpoint\'s (and PostgreSQL\'s own)', async () => {
      await checkCases(dialect, ctx.connection, generated, GENERATED_CASES)
    }, 240_000)
  })
}

describe.skipIf(DIALECTS.length < 2)('both dialects', () => {
  test('answer every request above with the very same JSON', () => {
    expect(answered.size).toBe(CONTRACT_CASES.length + GENERATED_CASES.length)
    for (const [path, byDialect] of answered) {
      if (byDialect.get('sqlite') !== byDialect.get('postgres')) expect({ path, sqlite: byDialect.get('sqlite') }).toEqual({ path, sqlite: byDialect.get('postgres') })
    }
  })
})
