// Contract: scope. Only accounts of the VBET_ACCOUNT_IDS installation config are ever read; an
// account_id outside it is 401; a missing or empty config allows nothing (never everything).
import { afterEach, describe, expect, test } from 'bun:test'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, ids } from '../helpers.ts'
import { ALL_VBET_ASC, IN_DEFAULT_RANGE } from '../../fixtures/contract-data-set.ts'
import { serializedAccountIds, setVbetAccountIdsConfig } from '../../fixtures/insert.ts'

localOnly('VBET allowlist: exact scopes and stored config forms')

for (const dialect of DIALECTS) {
  describe(`[${dialect}] VBET allowlist`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)
    const accountsOf = (response: { body: any }) => [...new Set(response.body.payload.map((item: any) => item.account_id))].sort()
    afterEach(() => setVbetAccountIdsConfig(ctx.connection, serializedAccountIds(' 3, 5 ')))

    test('without account_id: every VBET account, and nothing of any other', async () => {
      const response = await conversations(app(), { ...EVERYTHING, page_size: 1000 })
      expect(response.status).toBe(200)
      expect(accountsOf(response)).toEqual([3, 5])
      expect(response.body.meta.items_count).toBe(17)
      const defaults = await conversations(app(), { page_size: 1000 })
      expect(ids(defaults)).toEqual([...ALL_VBET_ASC])
    })

    test('an allowlist of 70,000 accounts (more than either database binds in one statement) works: pages, the count, an account, an export', async () => {
      // 3 and 5 among 70,000 ids that hold no conversations.
      const many = [3, 5, ...Array.from({ length: 69_998 }, (_, i) => 100_000 + i)]
      await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds(many.join(',')))
      const response = await conversations(app(), { ...EVERYTHING, page_size: 1000 })
      expect(response.status).toBe(200)
      expect(response.body.meta.items_count).toBe(17)
      expect(accountsOf(response)).toEqual([3, 5])
      const second = await conversations(app(), { ...EVERYTHING, page_size: 5, page: 2, sort_direction: 'desc' })
      expect(second.status).toBe(200)
      expect(second.body.payload).toHaveLength(5)
      expect((await conversations(app(), { ...EVERYTHING, account_id: 169_997 })).body.meta.items_count).toBe(0)
      const csv = await conversations(app(), { ...EVERYTHING, format: 'csv' })
      expect(csv.status).toBe(200)
      expect(csv.text.split('\r\n').length).toBe(17 + 2) // header, 17 rows, the final CRLF
    })

    test('account_id in the allowlist scopes to that account', async () => {
      const response = await conversations(app(), { account_id: 5, page_size: 1000 })
      expect(response.status).toBe(200)
      expect(ids(response)).toEqual([...IN_DEFAULT_RANGE[5]])
      expect(response.body.meta.items_count).toBe(2)
    })

    test.each(['4', '7', '999', '0', '-3', '2147483648', '99999999999999999999'])('account_id %p, not in the allowlist: 401', async (accountId) => {
      const response = await conversations(app(), { account_id: accountId })
      expect(response.status).toBe(401)
      expect(Object.keys(response.body)).toEqual(['error'])
    })

    test.each(['abc', '3.5', '', '3,5', '1e1', '0x3', ' 3', '+3', '3 '])('account_id %p, not an integer: 422', async (accountId) => {
      const response = await conversations(app(), `account_id=${encodeURIComponent(accountId)}`)
      expect(response.status).toBe(422)
      expect(response.body.error).toContain('account_id')
    })

    const forms: Array<[string, string, number[]]> = [
      ['YAML with the HashWithIndifferentAccess tag', serializedAccountIds('3,5'), [3, 5]],
      ['YAML, spaces around the ids', serializedAccountIds(' 5 , 3 '), [3, 5]],
      ['YAML, a single number', serializedAccountIds(5), [5]],
      ['YAML, double-quoted', JSON.stringify('--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: "3"\n'), [3]],
      ['a JSON object {"value": "3,5"}', serializedAccountIds('3,5', 'object'), [3, 5]],
      ['a JSON object with a number', serializedAccountIds(3, 'object'), [3]],
      ['an account that has no conversations beside a real one', serializedAccountIds('5, 12345'), [5]],
    ]
    test.each(forms)('config stored as %s', async (_name, serialized, accounts) => {
      await setVbetAccountIdsConfig(ctx.connection, serialized)
      const response = await conversations(app(), { ...EVERYTHING, page_size: 1000 })
      expect(response.status).toBe(200)
      expect(accountsOf(response)).toEqual(accounts)
    })

    const nothing: Array<[string, string | null]> = [
      ['absent', null],
      ['an empty YAML value', serializedAccountIds('')],
      ['an empty object', '{}'],
      ['YAML with no value key', JSON.stringify('--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n{}\n')],
      ['not ids at all', serializedAccountIds('all')],
      ['a JSON null', 'null'],
    ]
    test.each(nothing)('config %s: 200 with nothing, never everything', async (_name, serialized) => {
      await setVbetAccountIdsConfig(ctx.connection, serialized)
      const response = await conversations(app(), { ...EVERYTHING, page_size: 1000 })
      expect(response.status).toBe(200)
      expect(response.body).toEqual({ meta: { items_count: 0, current_page: 1, page_size: 1000 }, payload: [] })
      expect((await conversations(app(), { account_id: 3 })).status).toBe(401)
    })

    test('a config change takes effect on the next request', async () => {
      await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds('5'))
      expect((await conversations(app(), { account_id: 3 })).status).toBe(401)
      await setVbetAccountIdsConfig(ctx.connection, serializedAccountIds('3'))
      expect((await conversations(app(), { account_id: 3 })).status).toBe(200)
    })
  })
}
