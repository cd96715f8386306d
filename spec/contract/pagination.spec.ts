// Contract: sort_direction, page, page_size and meta. Pages are cut from one order (created_at,
// then id), so walking them returns every conversation exactly once, ties included.
import { describe, expect, test } from 'bun:test'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, ids } from '../helpers.ts'
import { ALL_VBET_ASC, CONTRACT_NOW } from '../../fixtures/contract-data-set.ts'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'

localOnly('sorting and pages: exact orders and clamps')

const TOTAL = ALL_VBET_ASC.length

for (const dialect of DIALECTS) {
  describe(`[${dialect}] sorting and pages`, () => {
    const ctx = useDatabase(dialect)
    // One app for the block, as one service: walks go through its count and page-boundary caches.
    let shared: ReturnType<typeof contractApp> | undefined
    const app = () => (shared ??= contractApp(ctx.connection))

    async function walk(pageSize: number, sortDirection?: 'asc' | 'desc'): Promise<number[]> {
      const seen: number[] = []
      for (let page = 1; ; page++) {
        const response = await conversations(app(), { page, page_size: pageSize, ...(sortDirection ? { sort_direction: sortDirection } : {}) })
        expect(response.status).toBe(200)
        expect(response.body.meta).toEqual({ items_count: TOTAL, current_page: page, page_size: pageSize })
        if (response.body.payload.length === 0) return seen
        expect(response.body.payload.length).toBeLessThanOrEqual(pageSize)
        seen.push(...ids(response))
      }
    }

    test('defaults: page 1 of 20, ascending by created_at then id', async () => {
      const response = await conversations(app())
      expect(response.body.meta).toEqual({ items_count: TOTAL, current_page: 1, page_size: 20 })
      expect(ids(response)).toEqual([...ALL_VBET_ASC])
    })

    test('sort_direction=desc is the exact reverse, ties included; asc is the default', async () => {
      const asc = ids(await conversations(app(), { sort_direction: 'asc' }))
      expect(asc).toEqual([...ALL_VBET_ASC])
      expect(ids(await conversations(app(), { sort_direction: 'desc' }))).toEqual([...ALL_VBET_ASC].reverse())
    })

    test.each([1, 2, 3, 7, 15, 16])('walking pages of %p: every conversation once, in order, ascending', async (size) => {
      expect(await walk(size)).toEqual([...ALL_VBET_ASC])
      // Once more, now that every page's end is known: the same pages, each cut right after the last.
      expect(await walk(size)).toEqual([...ALL_VBET_ASC])
    })

    test.each([1, 2, 4])('walking pages of %p: every conversation once, in order, descending', async (size) => {
      expect(await walk(size, 'desc')).toEqual([...ALL_VBET_ASC].reverse())
    })

    test('equal created_at on a page boundary: 104 ends one page and 105 starts the next', async () => {
      const at = ALL_VBET_ASC.indexOf(104) // 0-based position; with page_size = at + 1, 104 closes page 1
      const first = await conversations(app(), { page: 1, page_size: at + 1 })
      const second = await conversations(app(), { page: 2, page_size: at + 1 })
      expect(ids(first).at(-1)).toBe(104)
      expect(ids(second)[0]).toBe(105)
    })

    test.each([
      ['0', 1],
      ['-5', 1],
      ['1', 1],
      ['999', 999],
      ['1000', 1000],
      ['1001', 1000],
      ['5000', 1000],
      ['99999999999999999999', 1000],
      ['-99999999999999999999', 1],
    ])('page_size=%p is clamped to %p', async (pageSize, effective) => {
      const response = await conversations(app(), { page_size: pageSize })
      expect(response.status).toBe(200)
      expect(response.body.meta.page_size).toBe(effective)
      expect(response.body.payload.length).toBe(Math.min(effective, TOTAL))
    })

    test.each([['0'], ['-1'], ['-2147483648']])('page=%p is page 1', async (page) => {
      const response = await conversations(app(), { page, page_size: 2 })
      expect(response.status).toBe(200)
      expect(response.body.meta.current_page).toBe(1)
      expect(ids(response)).toEqual(ALL_VBET_ASC.slice(0, 2))
    })

    test('a page past the end: 200, empty payload, items_count still the total', async () => {
      for (const page of [9, 2147483647]) {
        const response = await conversations(app(), { page, page_size: 2 })
        expect(response.status).toBe(200)
        expect(response.body).toEqual({ meta: { items_count: TOTAL, current_page: page, page_size: 2 }, payload: [] })
      }
    })

    test('the last page holds the remainder', async () => {
      const response = await conversations(app(), { page: 2, page_size: 10 })
      expect(ids(response)).toEqual(ALL_VBET_ASC.slice(10))
    })

    test.each(['DESC', 'Asc', 'up', '', 'asc ', 'ascending', '1'])('sort_direction=%p: 422', async (value) => {
      const response = await conversations(app(), `sort_direction=${encodeURIComponent(value)}`)
      expect(response.status).toBe(422)
      expect(response.body).toEqual({ error: 'sort_direction must be asc or desc' })
    })

    for (const name of ['page', 'page_size'] as const) {
      test.each(['abc', '1.5', '2.0', '1e2', '', ' 2', '0x2'])(`${name}=%p is not an integer: 422 naming ${name}`, async (value) => {
        const response = await conversations(app(), `${name}=${encodeURIComponent(value)}`)
        expect(response.status).toBe(422)
        expect(response.body.error).toStartWith(`${name} must be an integer`)
      })
    }

    test('page beyond 2147483647 (no page anyone pages to): 422 naming page', async () => {
      const response = await conversations(app(), { page: '2147483648' })
      expect(response.status).toBe(422)
      expect(response.body.error).toStartWith('page must be an integer')
    })

    test.each(['since', 'until', 'page', 'page_size', 'account_id', 'sort_direction'])('%p given twice: 422 naming it', async (name) => {
      const value = name === 'sort_direction' ? 'asc' : '3'
      const response = await conversations(app(), `${name}=${value}&${name}=${value}`)
      expect(response.status).toBe(422)
      expect(response.body).toEqual({ error: `${name} must be given at most once` })
    })

    test('unknown parameters are ignored', async () => {
      const response = await conversations(app(), { per_page: 1, status: 'open', page_size: 3 })
      expect(response.status).toBe(200)
      expect(ids(response)).toEqual(ALL_VBET_ASC.slice(0, 3))
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] page_size default and bounds with more than 1000 conversations`, () => {
    const ctx = useDatabase(dialect, () => demoDataSet({ conversations: 1600, vbetAccounts: 2, otherAccounts: 0, anchor: CONTRACT_NOW }))
    const app = () => contractApp(ctx.connection, { now: () => CONTRACT_NOW })
    const DEMO = { token: DEMO_TOKEN }

    test('without page_size: 20 per page', async () => {
      const response = await conversations(app(), {}, DEMO)
      expect(response.body.meta).toEqual({ items_count: 1600, current_page: 1, page_size: 20 })
      expect(response.body.payload.length).toBe(20)
    })

    test('page_size above 1000 gives 1000 rows, and the next page starts right after them', async () => {
      const first = await conversations(app(), { page_size: 5000 }, DEMO)
      const second = await conversations(app(), { page_size: 5000, page: 2 }, DEMO)
      expect(first.body.payload.length).toBe(1000)
      expect(second.body.payload.length).toBe(600)
      const all = [...ids(first), ...ids(second)]
      expect(new Set(all).size).toBe(1600)
      // Ordered by created_at (to the microsecond, so within one shown second by the hidden fraction).
      const times = [...first.body.payload, ...second.body.payload].map((item: any) => item.created_time)
      expect(times).toEqual([...times].sort())
    })
  })
}
