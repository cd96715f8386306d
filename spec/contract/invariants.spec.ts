// Contract checks that hold for any data: they run against the fixtures locally and against a
// deployment in remote mode. Each failure names the rule, the request (without the token) and
// what differed.
import { beforeAll, describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ConversationsPage, ErrorBody } from '../../src/kpi/conversations.model.ts'
import { ChangesPage } from '../../src/kpi/changes.model.ts'
import { forEachTarget, rule, type Answer, type Query, type Target } from './targets.ts'

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const seconds = (iso: string) => Date.parse(iso) / 1000

function documented(answer: Answer) {
  rule('a 200 answer is JSON with the documented shape', answer, () => {
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type') ?? '').toStartWith('application/json')
    const problem = Value.Errors(ConversationsPage, answer.body).First()
    expect(problem ? `${problem.path}: ${problem.message}` : 'valid').toBe('valid')
    for (const item of answer.body.payload) {
      expect(item.created_time).toMatch(ISO_SECOND)
      if (item.resolved_time !== null) expect(item.resolved_time).toMatch(ISO_SECOND)
    }
  })
}

/**
 * Through a validating proxy (KPI_VIA_VALIDATING_PROXY=1: Prism with --errors), a request the
 * document forbids (no token, a parameter off its pattern, a path it does not have) is refused by
 * the proxy itself, with the same status and an RFC 9457 problem body: the document and the
 * service agree that it is an error, and which. Straight to the service, the body is {"error"}.
 */
const VIA_VALIDATING_PROXY = process.env.KPI_VIA_VALIDATING_PROXY === '1'

function anError(answer: Answer, status: number, name: string) {
  rule(name, answer, () => {
    expect(answer.status).toBe(status)
    const type = answer.headers.get('content-type') ?? ''
    if (VIA_VALIDATING_PROXY && type.startsWith('application/problem+json')) return expect(answer.body.status).toBe(status)
    expect(type).toStartWith('application/json')
    expect(Value.Check(ErrorBody, answer.body) && Object.keys(answer.body).length === 1).toBe(true)
  })
}

/**
 * A range small enough to walk page by page: the latest conversations, in the widest of a few
 * windows that holds at most 300 (or KPI_SINCE/KPI_UNTIL when given).
 */
async function walkableRange(target: Target): Promise<{ since: number; until: number; count: number }> {
  const given = [process.env.KPI_SINCE, process.env.KPI_UNTIL].map((value) => value?.trim())
  if (target.remote && given[0] && given[1]) {
    const range = { since: Number(given[0]), until: Number(given[1]) }
    return { ...range, count: (await target.get({ ...range, page_size: 1 })).body.meta.items_count }
  }
  const latest = await target.get({ sort_direction: 'desc', page_size: 1 })
  documented(latest)
  if (latest.body.payload.length === 0) return { since: 0, until: 0, count: 0 }
  const until = seconds(latest.body.payload[0].created_time)
  let best = { since: until, until, count: 1 }
  for (const span of [3600, 86_400, 7 * 86_400, 30 * 86_400, 365 * 86_400, 100 * 365 * 86_400]) {
    const answer = await target.get({ since: until - span, until, page_size: 1 })
    documented(answer)
    if (answer.body.meta.items_count > 300) break
    best = { since: until - span, until, count: answer.body.meta.items_count }
  }
  return best
}

async function walk(target: Target, query: Query, pageSize: number): Promise<{ items: any[]; counts: number[]; answers: Answer[] }> {
  const items: any[] = []
  const counts: number[] = []
  const answers: Answer[] = []
  for (let page = 1; page <= 1000; page++) {
    const answer = await target.get({ ...query, page, page_size: pageSize })
    documented(answer)
    answers.push(answer)
    counts.push(answer.body.meta.items_count)
    if (answer.body.payload.length === 0) break
    items.push(...answer.body.payload)
  }
  return { items, counts, answers }
}

forEachTarget((target) => {
  describe(`[${target.name}] contract invariants`, () => {
    test('answers of every shape the API takes validate against the documented schema', async () => {
      const queries: Query[] = [{}, { page_size: 1 }, { page_size: 1000 }, { sort_direction: 'desc' }, { page: 2, page_size: 3 }, { since: 0 }, { until: 0 }]
      if (target.accountId !== undefined) queries.push({ account_id: target.accountId })
      for (const query of queries) documented(await target.get(query))
    })

    test('defaults: page 1, page_size 20', async () => {
      const answer = await target.get()
      documented(answer)
      rule('page defaults to 1 and page_size to 20', answer, () => {
        expect(answer.body.meta.current_page).toBe(1)
        expect(answer.body.meta.page_size).toBe(20)
        expect(answer.body.payload.length).toBeLessThanOrEqual(20)
      })
    })

    test('page_size is clamped to [1, 1000] and a page below 1 is page 1', async () => {
      for (const [asked, effective] of [['0', 1], ['-3', 1], ['1', 1], ['1000', 1000], ['5000', 1000]] as const) {
        const answer = await target.get({ page_size: asked })
        documented(answer)
        rule('page_size is clamped to [1, 1000]', answer, () => {
          expect(answer.body.meta.page_size).toBe(effective)
          expect(answer.body.payload.length).toBeLessThanOrEqual(effective)
        })
      }
      for (const page of ['0', '-1']) {
        const answer = await target.get({ page, page_size: 1 })
        documented(answer)
        rule('a page below 1 is page 1', answer, () => expect(answer.body.meta.current_page).toBe(1))
      }
    })

    describe('over a range walked page by page', () => {
      let range = { since: 0, until: 0, count: 0 }
      let asc: Awaited<ReturnType<typeof walk>>
      let desc: Awaited<ReturnType<typeof walk>>
      beforeAll(async () => {
        range = await walkableRange(target)
        const bounds = { since: range.since, until: range.until }
        asc = await walk(target, bounds, 7)
        desc = await walk(target, { ...bounds, sort_direction: 'desc' }, 7)
        if (range.count === 0) console.warn(`[${target.name}] no conversations to walk: the range checks are vacuous`)
        // Two walks of pages of 7 over up to 300 conversations: about 90 requests, to a deployment
        // across a network in remote mode (or a loaded machine), well past Bun's 5 s for a hook.
      }, 120_000)

      test('items_count is the same on every page and equals the sum of the page lengths', () => {
        for (const walked of [asc, desc]) {
          const last = walked.answers.at(-1)!
          rule('items_count is the total across all pages', last, () => {
            expect(new Set(walked.counts).size).toBe(1)
            expect(walked.items.length).toBe(walked.counts[0]!)
            expect(walked.items.length).toBe(range.count)
          })
        }
      })

      test('pages never overlap, follow created_at in the requested direction, and desc is the exact reverse of asc', () => {
        const last = desc.answers.at(-1)!
        rule('pages are ordered by created_at then id, without overlap', last, () => {
          const ids = asc.items.map((item) => item.id)
          expect(new Set(ids).size).toBe(ids.length)
          const times = asc.items.map((item) => seconds(item.created_time))
          expect(times).toEqual([...times].sort((a, b) => a - b))
          expect(desc.items.map((item) => item.id)).toEqual([...ids].reverse())
        })
      })

      test('every item lies within since and until, both inclusive', async () => {
        for (const item of asc.items) {
          rule('since and until bound created_time (inclusive)', asc.answers[0]!, () => {
            expect(seconds(item.created_time)).toBeGreaterThanOrEqual(range.since)
            expect(seconds(item.created_time)).toBeLessThanOrEqual(range.until)
          })
        }
        if (asc.items.length === 0) return
        // Bounds on the first item's second: since there keeps it, until there keeps it, one second on drops it.
        const first = seconds(asc.items[0].created_time)
        const atOrAfter = (t: number) => asc.items.filter((item) => seconds(item.created_time) >= t).length
        for (const [query, expected] of [
          [{ since: first, until: range.until }, atOrAfter(first)],
          [{ since: first + 1, until: range.until }, atOrAfter(first + 1)],
          [{ since: range.since, until: first }, asc.items.length - atOrAfter(first + 1)],
          [{ since: range.since, until: first - 1 }, asc.items.length - atOrAfter(first)],
        ] as const) {
          const answer = await target.get({ ...query, page_size: 1 })
          rule('since and until are inclusive, to the second', answer, () => expect(answer.body.meta.items_count).toBe(expected))
        }
      })

      test('a cursor walk (cursor=, then each next_cursor) returns the same rows as the pages, each once, and ends with null', async () => {
        const bounds = { since: range.since, until: range.until, page_size: 7 }
        const seen: number[] = []
        let cursor = ''
        let answer: Answer | undefined
        for (let page = 1; page <= 1000; page++) {
          answer = await target.get({ ...bounds, cursor })
          documented(answer)
          seen.push(...answer.body.payload.map((item: { id: number }) => item.id))
          rule('next_cursor is a string until the last page, then null', answer, () => {
            expect(answer!.body.meta.next_cursor === null || typeof answer!.body.meta.next_cursor === 'string').toBe(true)
          })
          if (answer.body.meta.next_cursor === null) break
          cursor = answer.body.meta.next_cursor
        }
        rule('a cursor walk returns every row of the range once, as the pages do', answer!, () => {
          expect(seen).toEqual(asc.items.map((item) => item.id))
        })
        const tampered = await target.get({ ...bounds, cursor: `${cursor || 'x'}x.y` })
        anError(tampered, 422, 'an altered cursor is 422')
      })

      test('chat_duration is null without resolved_time, and at most resolved_time - created_time (a reopen only shortens it)', () => {
        for (const item of asc.items) {
          rule('chat_duration agrees with resolved_time and created_time', asc.answers[0]!, () => {
            if (item.resolved_time === null) expect(item.chat_duration).toBeNull()
            else if (item.chat_duration !== null) {
              expect(item.chat_duration).toBeLessThanOrEqual(seconds(item.resolved_time) - seconds(item.created_time))
            }
          })
        }
      })
    })

    test.skipIf(target.accountId === undefined)(
      `account_id scopes every item to that account${target.accountId === undefined ? ' (skipped: set KPI_ACCOUNT_ID)' : ''}`,
      async () => {
        const answer = await target.get({ account_id: target.accountId!, page_size: 100 })
        documented(answer)
        rule('account_id scopes the payload to that account', answer, () => {
          for (const item of answer.body.payload) expect(item.account_id).toBe(target.accountId!)
        })
      },
    )

    test('no token, or a token that is not the KPI tracker\'s: 401 {"error"}', async () => {
      anError(await target.get({}, { token: null }), 401, 'no token is 401')
      anError(await target.get({}, { token: `not-a-token-${crypto.randomUUID()}` }), 401, 'an unknown token is 401')
    })

    test.skipIf(target.foreignAccountId === undefined)(
      `account_id outside the VBET allowlist: 401 {"error"}${target.foreignAccountId === undefined ? ' (skipped: set KPI_FOREIGN_ACCOUNT_ID)' : ''}`,
      async () => {
        anError(await target.get({ account_id: target.foreignAccountId! }), 401, 'account_id outside the allowlist is 401')
      },
    )

    test('since or until not an integer Unix timestamp, and the like: 422 {"error"}', async () => {
      for (const query of ['since=yesterday', 'until=1.5', 'since=1e9', 'until=', 'sort_direction=sideways', 'page_size=ten', 'account_id=three']) {
        anError(await target.get(query), 422, `${query.split('=')[0]} that is not what the API takes is 422`)
      }
    })

    test('the changes feed: documented pages in updated_time order within [start_time, end_time), end_of_stream at the end, a resume that goes on from there', async () => {
      const path = '/api/v1/kpi/conversations/changes'
      // The last 30 days by the deployment's own clock (its end_time), a walk of bounded length.
      const probe = await target.get({ start_time: 0, page_size: 1 }, { path })
      const startTime = Number(probe.body?.meta?.end_time ?? Math.floor(Date.now() / 1000)) - 30 * 86_400
      let answer = await target.get({ start_time: startTime, page_size: 100 }, { path })
      const times: string[] = []
      for (let pages = 1; ; pages++) {
        const page = answer
        rule('a page of the changes feed has the documented shape', page, () => {
          expect(page.status).toBe(200)
          const problem = Value.Errors(ChangesPage, page.body).First()
          expect(problem ? `${problem.path}: ${problem.message}` : 'valid').toBe('valid')
        })
        rule('the feed lies within [start_time, end_time) and follows updated_time', page, () => {
          for (const item of page.body.payload) {
            expect(seconds(item.updated_time)).toBeGreaterThanOrEqual(startTime)
            expect(seconds(item.updated_time)).toBeLessThan(page.body.meta.end_time)
            times.push(item.updated_time)
          }
          expect(times).toEqual([...times].sort())
        })
        if (page.body.meta.end_of_stream || pages === 5) break
        rule('a page before the end is full', page, () => expect(page.body.payload).toHaveLength(100))
        answer = await target.get({ cursor: page.body.meta.next_cursor }, { path })
      }
      const resumed = await target.get({ cursor: answer.body.meta.next_cursor }, { path })
      rule('a resume goes on from where the walk stood', resumed, () => {
        expect(resumed.status).toBe(200)
        for (const item of resumed.body.payload) expect(item.updated_time >= (times.at(-1) ?? '')).toBe(true)
      })
      anError(await target.get({}, { path }), 422, 'the feed without start_time or cursor is 422')
      anError(await target.get({ cursor: `${String(answer.body.meta.next_cursor).slice(0, -2)}xx` }, { path }), 422, 'an altered feed cursor is 422')
      anError(await target.get({ start_time: startTime }, { path, token: null }), 401, 'the feed without a token is 401')
    })

    test('an unknown path: 404 {"error"}', async () => {
      anError(await target.getPath('/api/v1/kpi/no-such-thing'), 404, 'an unknown path is 404 with a JSON error')
    })
  })
})
