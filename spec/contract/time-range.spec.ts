// Contract: since and until. Integer Unix timestamps, both inclusive (until covers its whole
// second), defaulting to 100 years ago and the end of today (UTC); anything else is 422.
import { describe, expect, test } from 'bun:test'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, ids } from '../helpers.ts'
import { ALL_VBET_ASC } from '../../fixtures/contract-data-set.ts'

localOnly('since and until: exact bounds')

const at = (iso: string) => Date.parse(iso) / 1000
const C101 = at('2026-01-10T08:30:00Z')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] since and until`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)
    const list = async (query: Record<string, string | number>) => {
      const response = await conversations(app(), { page_size: 1000, ...query })
      expect(response.status).toBe(200)
      expect(response.body.meta.items_count).toBe(response.body.payload.length)
      return ids(response)
    }

    test('defaults: from the start of the day 100 years ago (1926-01-20T00:00:00Z, inclusive) to the end of today (UTC)', async () => {
      const found = await list({})
      expect(found).toEqual([...ALL_VBET_ASC])
      expect(found).toContain(113) // created 100 years before "now", later that day
      expect(found).not.toContain(112) // 101 years ago
      expect(found).toContain(110) // 23:59:59.5 today
      expect(found).not.toContain(111) // 00:00:00 tomorrow
    })

    test('since is inclusive: a conversation created at since is in, one second later it is out', async () => {
      expect((await list({ since: C101, until: C101 + 86_400 }))[0]).toBe(101)
      expect(await list({ since: C101 + 1, until: C101 + 86_400 })).not.toContain(101)
    })

    test('until is inclusive: a conversation created at until is in, one second earlier it is out', async () => {
      expect((await list({ since: C101 - 86_400, until: C101 })).at(-1)).toBe(101)
      expect(await list({ since: C101 - 86_400, until: C101 - 1 })).not.toContain(101)
    })

    test('until covers its whole second: 10:00:00.25 is in until=10:00:00 (and shown as 10:00:00Z)', async () => {
      const second = at('2026-01-13T09:00:00Z')
      expect(await list({ since: second, until: second })).toEqual([104, 105])
      expect(await list({ since: second + 1, until: second + 1 })).toEqual([])
    })

    test('a range of exactly one second, a whole day, and consecutive ranges that miss nothing', async () => {
      const day = at('2026-01-15T00:00:00Z')
      expect(await list({ since: day, until: day + 86_399 })).toEqual([107, 108])
      const first = await list({ since: at('2026-01-01T00:00:00Z'), until: at('2026-01-13T09:00:00Z') })
      const second = await list({ since: at('2026-01-13T09:00:01Z'), until: at('2026-01-31T00:00:00Z') })
      expect([...first, ...second]).toEqual(await list({ since: at('2026-01-01T00:00:00Z'), until: at('2026-01-31T00:00:00Z') }))
      expect(first.at(-1)).toBe(105)
    })

    test('since alone keeps the default until; until alone keeps the default since', async () => {
      expect(await list({ since: at('2026-01-18T00:00:00Z') })).toEqual([202, 110])
      expect(await list({ until: at('2026-01-10T08:30:00Z') })).toEqual([113, 101])
    })

    test('negative timestamps (before 1970) are timestamps too', async () => {
      expect(await list({ since: at('1925-01-01T00:00:00Z'), until: at('1926-12-31T00:00:00Z') })).toEqual([112, 113])
    })

    test('the widest range the API takes reaches every VBET conversation, tomorrow\'s included', async () => {
      expect(await list({ since: -62135596800, until: 253402300799 })).toEqual([112, ...ALL_VBET_ASC, 111])
    })

    test('since after until: 200 with nothing', async () => {
      const response = await conversations(app(), { since: C101 + 10, until: C101 })
      expect(response.status).toBe(200)
      expect(response.body.meta.items_count).toBe(0)
      expect(response.body.payload).toEqual([])
    })

    const malformed = ['abc', '1.5', '1736467200.0', '1e9', '0x10', '', ' 1736467200', '+1736467200', '1736467200 ', '2026-01-10', 'null', '--1', '١٢٣']
    for (const name of ['since', 'until'] as const) {
      test.each(malformed)(`${name}=%p is not an integer Unix timestamp: 422 naming ${name}`, async (value) => {
        const response = await conversations(app(), `${name}=${encodeURIComponent(value)}`)
        expect(response.status).toBe(422)
        expect(Object.keys(response.body)).toEqual(['error'])
        expect(response.body.error).toStartWith(`${name} must be an integer Unix timestamp`)
      })

      test.each(['-62135596801', '253402300800', '99999999999999999999999'])(`${name}=%p, beyond the years 0001-9999: 422`, async (value) => {
        const response = await conversations(app(), { [name]: value })
        expect(response.status).toBe(422)
        expect(response.body.error).toStartWith(`${name} must be an integer Unix timestamp`)
      })
    }
  })
}
