// Contract of GET /api/v1/kpi/conversations/metrics that holds for any data: it runs against the
// fixtures locally (every dialect) and against a deployment in remote mode. The figures reconcile
// with the rows endpoint: over a range small enough to page through, every count and every
// chat_duration statistic recomputed from the rows' payload equals the answer's, by day in several
// time zones and by each dimension; conversations summed over one non-label grouping are the rows
// endpoint's items_count. Each failure names the rule, the request (never the token) and what differed.
import { beforeAll, describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ErrorBody } from '../../src/kpi/conversations.model.ts'
import type { ConversationItem } from '../../src/kpi/conversations.rules.ts'
import { MetricsPage } from '../../src/kpi/metrics.model.ts'
import { comparable, localDate, recomputeMetrics } from './metrics-recompute.ts'
import { forEachTarget, rule, type Answer, type Query, type Target } from './targets.ts'

const PATH = '/api/v1/kpi/conversations/metrics'
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu']
const seconds = (iso: string) => Date.parse(iso) / 1000

function valid(answer: Answer) {
  rule('a 200 metrics answer is JSON with the documented shape', answer, () => {
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type') ?? '').toStartWith('application/json')
    const problem = Value.Errors(MetricsPage, answer.body).First()
    expect(problem ? `${problem.path}: ${problem.message}` : 'valid').toBe('valid')
    expect(answer.body.meta.items_count).toBe(answer.body.payload.length)
  })
}

/** Through a validating proxy (spec/contract/invariants.spec.ts says why), a request the document forbids is refused by it, in RFC 9457's shape. */
const VIA_VALIDATING_PROXY = process.env.KPI_VIA_VALIDATING_PROXY === '1'
const refusedByProxy = (answer: Answer) => VIA_VALIDATING_PROXY && (answer.headers.get('content-type') ?? '').startsWith('application/problem+json')

function anError(answer: Answer, status: number, name: string) {
  rule(name, answer, () => {
    expect(answer.status).toBe(status)
    if (refusedByProxy(answer)) return expect(answer.body.status).toBe(status)
    expect(answer.headers.get('content-type') ?? '').toStartWith('application/json')
    expect(Value.Check(ErrorBody, answer.body) && Object.keys(answer.body).length === 1).toBe(true)
  })
}

/** The latest conversations, in the widest of a few windows (up to 90 days) that holds at most 300 of them. */
async function smallRange(target: Target): Promise<{ since: number; until: number; count: number }> {
  const latest = await target.get({ sort_direction: 'desc', page_size: 1 })
  if (latest.status !== 200 || latest.body.payload.length === 0) return { since: 0, until: 0, count: 0 }
  const until = seconds(latest.body.payload[0].created_time)
  let best = { since: until, until, count: 1 }
  for (const span of [86_400, 7 * 86_400, 30 * 86_400, 90 * 86_400]) {
    const answer = await target.get({ since: until - span, until, page_size: 1 })
    if (answer.body.meta.items_count > 300) break
    best = { since: until - span, until, count: answer.body.meta.items_count }
  }
  return best
}

async function allRows(target: Target, query: Query): Promise<ConversationItem[]> {
  const items: ConversationItem[] = []
  for (let page = 1; page <= 10; page++) {
    const answer = await target.get({ ...query, page, page_size: 1000 })
    items.push(...answer.body.payload)
    if (answer.body.payload.length < 1000) break
  }
  return items
}

forEachTarget((target) => {
  const metrics = (query: Query | string, token?: string | null) => target.get(query, { path: PATH, ...(token !== undefined ? { token } : {}) })

  describe(`[${target.name}] metrics contract`, () => {
    let range = { since: 0, until: 0, count: 0 }
    let items: ConversationItem[] = []
    beforeAll(async () => {
      range = await smallRange(target)
      items = await allRows(target, { since: range.since, until: range.until })
      if (range.count === 0) console.warn(`[${target.name}] no conversations: the metrics' reconciliation is vacuous`)
    }, 60_000)

    test('answers of every grouping validate against the documented schema, in the meta they were asked with', async () => {
      for (const groupBy of ['', 'account', 'assignee', 'status', 'label', 'day', 'week,account', 'month,status,label', 'label,assignee,day']) {
        const answer = await metrics({ since: range.since, until: range.until, group_by: groupBy, time_zone: 'Europe/Berlin' })
        valid(answer)
        rule('meta says what was resolved: since, until, the zone and the keys in order', answer, () => {
          expect(answer.body.meta).toMatchObject({ since: range.since, until: range.until, time_zone: 'Europe/Berlin', group_by: groupBy === '' ? [] : groupBy.split(',') })
        })
      }
      const defaults = await metrics({})
      valid(defaults)
      rule('without group_by: one row for the whole range; without time_zone: UTC', defaults, () => {
        expect(defaults.body.payload).toHaveLength(1)
        expect(defaults.body.meta.time_zone).toBe('UTC')
      })
    }, 60_000)

    test('every count and chat_duration statistic equals what the rows endpoint\'s payload gives, by day in four time zones and by each dimension', async () => {
      const first = await metrics({ since: range.since, until: range.until })
      for (const zone of ZONES) {
        for (const groupBy of [[], ['day'], ['week', 'status'], ['month', 'account'], ['account'], ['assignee'], ['status'], ['label'], ['label', 'day']]) {
          const query = { since: range.since, until: range.until, time_zone: zone, group_by: groupBy.join(',') }
          const answer = await metrics(query)
          // A deployment with many labels or assignees may pass the row limit: that answer is its documented 422.
          if (answer.status === 422 && /at most 10,000/.test(answer.body.error)) continue
          valid(answer)
          const expected = recomputeMetrics(items, { ...range, timeZone: zone, groupBy })
          rule('the metrics reconcile with the rows endpoint (first_response aside: the rows do not carry it)', answer, () => {
            const got = comparable(answer.body.payload).map(({ first_response: _, ...row }) => row)
            expect(got).toEqual(expected.map(({ first_response: _, ...row }) => row))
          })
        }
      }
      rule('the sum of conversations of one row over the range is the rows endpoint\'s items_count', first, () => {
        expect(first.body.payload[0].conversations).toBe(range.count)
      })
    }, 60_000)

    test('the conversations of any single non-label grouping add up to the rows endpoint\'s items_count; per label at least as many', async () => {
      for (const groupBy of ['account', 'assignee', 'status', 'day', 'week,account', 'month,status,assignee', 'label']) {
        const answer = await metrics({ since: range.since, until: range.until, group_by: groupBy, time_zone: 'Asia/Kathmandu' })
        valid(answer)
        const sum = answer.body.payload.reduce((total: number, row: { conversations: number }) => total + row.conversations, 0)
        rule('conversations add up to items_count (labels: each conversation once per label, once when it has none)', answer, () => {
          if (groupBy === 'label') expect(sum).toBeGreaterThanOrEqual(range.count)
          else expect(sum).toBe(range.count)
        })
      }
    }, 60_000)

    test('periods: every local day of [since, until] once, in order, each at its local midnight', async () => {
      for (const zone of ZONES) {
        const answer = await metrics({ since: range.since, until: range.until, group_by: 'day', time_zone: zone })
        valid(answer)
        rule('a row for each local day from the one that holds since to the one that holds until', answer, () => {
          const starts: string[] = answer.body.payload.map((row: { period_start: string }) => row.period_start)
          const dates = starts.map((start) => start.slice(0, 10))
          expect(new Set(dates).size).toBe(dates.length)
          expect(dates).toEqual([...dates].sort())
          const local = (unix: number) => localDate(unix, zone)
          expect(dates[0]).toBe(local(range.since))
          expect(dates.at(-1)).toBe(local(range.until))
          for (const start of starts) {
            // The instant period_start names is that local date's first moment in the zone.
            expect(local(seconds(start))).toBe(start.slice(0, 10))
            expect(local(seconds(start) - 1)).not.toBe(start.slice(0, 10))
            if (zone === 'UTC') expect(start).toEndWith('+00:00')
          }
        })
      }
    }, 60_000)

    test.skipIf(target.accountId === undefined)(`account_id: the metrics of that account alone${target.accountId === undefined ? ' (skipped: set KPI_ACCOUNT_ID)' : ''}`, async () => {
      const answer = await metrics({ since: range.since, until: range.until, account_id: target.accountId!, group_by: 'account' })
      valid(answer)
      const rows = await target.get({ since: range.since, until: range.until, account_id: target.accountId!, page_size: 1 })
      rule('account_id scopes the metrics to that account, as it scopes the rows', answer, () => {
        for (const row of answer.body.payload) expect(row.account_id).toBe(target.accountId!)
        expect(answer.body.payload.reduce((total: number, row: { conversations: number }) => total + row.conversations, 0)).toBe(rows.body.meta.items_count)
      })
    })

    test('the token first: without one, or with another, 401 {"error"} whatever the parameters', async () => {
      anError(await metrics({}, null), 401, 'no token is 401')
      anError(await metrics({ time_zone: '+02:00', group_by: 'hour' }, null), 401, 'no token is 401, even with bad parameters')
      // Parameters the document allows but the service refuses: a validating proxy lets them through to the service.
      anError(await metrics({ time_zone: 'Mars/Olympus', group_by: 'day,day' }, `not-a-token-${crypto.randomUUID()}`), 401, 'an unknown token is 401, even with bad parameters')
    })

    test.skipIf(target.foreignAccountId === undefined)(
      `account_id outside the VBET allowlist: 401 {"error"}${target.foreignAccountId === undefined ? ' (skipped: set KPI_FOREIGN_ACCOUNT_ID)' : ''}`,
      async () => {
        anError(await metrics({ account_id: target.foreignAccountId! }), 401, 'account_id outside the allowlist is 401')
      },
    )

    test('parameters the API does not take: 422 {"error"} naming them', async () => {
      for (const query of [
        'since=yesterday', 'until=1.5', 'since=1e9', 'account_id=three', 'since=1&since=2',
        'time_zone=%2B02:00', 'time_zone=Mars/Olympus', 'time_zone=UTC%2B2', 'time_zone=',
        'group_by=hour', 'group_by=day,day', 'group_by=day,week', 'group_by=account,', 'format=xml',
      ]) {
        const answer = await metrics(query)
        anError(answer, 422, `${query} is 422`)
        if (!refusedByProxy(answer)) rule('the 422 names the parameter', answer, () => expect(answer.body.error).toContain(query.split('=')[0]!))
      }
      const unknown = await metrics({ since: range.since, until: range.until, colour: 'blue' })
      valid(unknown)
    })

    test('format=csv: the same rows flat, the asked keys then the counts and the twelve statistics, CRLF, nulls empty', async () => {
      for (const groupBy of ['', 'day,account', 'label,assignee', 'status,week']) {
        const query = { since: range.since, until: range.until, group_by: groupBy, time_zone: 'America/New_York' }
        const [json, csv] = await Promise.all([metrics(query), metrics({ ...query, format: 'csv' })])
        valid(json)
        rule('the CSV is the JSON\'s rows, flat', csv, () => {
          expect(csv.status).toBe(200)
          expect(csv.headers.get('content-type') ?? '').toStartWith('text/csv')
          expect(csv.headers.get('content-disposition') ?? '').toMatch(/^attachment; filename="kpi-conversation-metrics_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.csv"$/)
          expect(csv.text.endsWith('\r\n')).toBe(true)
          const [header, ...lines] = csv.text.replace(/^\uFEFF/, '').slice(0, -2).split('\r\n')
          const keys = ['period_start', 'account_id', 'assignee_id', 'assignee_name', 'status', 'label'].filter((key) => key in (json.body.payload[0] ?? {}))
          const statistics = ['chat_duration', 'first_response'].flatMap((measure) => ['count', 'mean', 'p50', 'p90', 'p95', 'max'].map((name) => `${measure}_${name}`))
          expect(header!.split(',')).toEqual([...keys, 'conversations', 'resolved', 'open', 'pending', 'snoozed', ...statistics])
          // Rows without quotes in them compare field by field (names with commas are the export spec's business).
          const flat = json.body.payload.map((row: Record<string, any>) =>
            [...keys.map((key) => row[key]), row.conversations, row.resolved, row.open, row.pending, row.snoozed,
              ...['chat_duration', 'first_response'].flatMap((measure) => ['count', 'mean', 'p50', 'p90', 'p95', 'max'].map((name) => row[measure]?.[name] ?? null))]
              .map((value) => (value === null ? '' : String(value))).join(','))
          expect(lines.length).toBe(flat.length)
          lines.forEach((line, index) => {
            if (!line.includes('"')) expect(line).toBe(flat[index])
          })
        })
      }
    }, 60_000)

    test.skipIf(!target.remote)('over HTTP: JSON and CSV carry a strong ETag; If-None-Match with it is 304 without a body', async () => {
      for (const format of ['json', 'csv']) {
        const query = { since: range.since, until: range.until, group_by: 'day', format }
        const first = await metrics(query)
        const etag = first.headers.get('etag')
        rule('an ETag on the metrics', first, () => expect(etag ?? '').toMatch(/^"[\w-]+"$/))
        const again = await target.get(query, { path: PATH, headers: { 'if-none-match': etag ?? '' } })
        rule('If-None-Match with the ETag: 304, no body', again, () => {
          expect(again.status).toBe(304)
          expect(again.text).toBe('')
        })
      }
    })

    test('more than 10,000 rows: 422 saying to narrow the range or take a coarser period', async () => {
      const answer = await metrics({ since: 0, until: 1_000_000_000, group_by: 'day' })
      anError(answer, 422, 'an answer of 11,575 days is refused')
      rule('the 422 says what to do', answer, () => expect(answer.body.error).toMatch(/narrow the range.*coarser period/))
    })
  })
})
