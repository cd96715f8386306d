// Repository specs, once per dialect: driver types normalised at the edge (numbers, UTC instants,
// parsed JSON), labels in tagging order, and nothing read for an empty scope.
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { QueryTemplates } from '../../src/db/query-templates.ts'
import * as repository from '../../src/kpi/conversations.repository.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'

const everything = { createdFrom: new Date(Date.UTC(1, 0, 1)), createdBefore: new Date('9999-12-31T00:00:00Z') }

for (const dialect of DIALECTS) {
  describe(`[${dialect}] conversations repository`, () => {
    const ctx = useDatabase(dialect)

    test('count is a JavaScript number', async () => {
      const count = await repository.countConversations(ctx.connection, { accountIds: [3, 5], ...everything })
      expect(count).toBe(17)
      expect(typeof count).toBe('number')
    })

    test(`ids are numbers and created_at is the stored UTC time, whatever TZ (${process.env.TZ ?? 'unset'}) and the server's time zone say`, async () => {
      const [first] = await repository.findConversationsPage(ctx.connection, { accountIds: [3], ...everything }, { sortDirection: 'asc', limit: 1, offset: 1 })
      expect(first).toEqual({
        id: 113,
        displayId: 17,
        accountId: 3,
        createdAt: new Date('1926-01-20T12:00:00Z'),
        updatedAt: new Date('1926-01-20T12:00:00Z'),
        status: 1,
        additionalAttributes: { browser_language: expect.any(String) },
        assignee: null,
        contact: null,
      })
      for (const value of [first!.id, first!.displayId, first!.accountId, first!.status]) expect(typeof value).toBe('number')
    })

    test('fractional seconds are kept to the millisecond', async () => {
      const page = await repository.findConversationsPage(
        ctx.connection,
        { accountIds: [3], createdFrom: new Date('2026-01-13T09:00:00Z'), createdBefore: new Date('2026-01-13T09:00:01Z') },
        { sortDirection: 'desc', limit: 10, offset: 0 },
      )
      expect(page.map((row) => [row.id, row.createdAt.toISOString()])).toEqual([
        [105, '2026-01-13T09:00:00.250Z'],
        [104, '2026-01-13T09:00:00.250Z'],
      ])
      expect(page[0]!.additionalAttributes).toEqual({ browser_language: 'en', resolved_time: '1768302000000' })
    })

    test('labels of many conversations in one call, each in tagging order', async () => {
      const labels = await repository.findLabels(ctx.connection, [101, 102, 103, 201, 301])
      expect(Object.fromEntries(labels)).toEqual({ 101: ['urgent', 'billing'], 103: ['vip', 'urgent', 'billing'], 201: ['spanish'], 301: ['billing'] })
    })

    test('token owners: type and the user\'s email; no user email for a bot with a user\'s id', async () => {
      expect(await repository.findTokenOwner(ctx.connection, TOKENS.kpiTracker)).toEqual({ ownerType: 'User', userEmail: 'KPI_Tracker@VBET.com' })
      expect(await repository.findTokenOwner(ctx.connection, TOKENS.agentBot)).toEqual({ ownerType: 'AgentBot', userEmail: null })
      expect(await repository.findTokenOwner(ctx.connection, 'nope')).toBeUndefined()
    })

    test('the VBET_ACCOUNT_IDS config comes back as its JSON value: the YAML document string', async () => {
      expect(await repository.findVbetAccountIdsConfig(ctx.connection)).toBe(
        "--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: ' 3, 5 '\n",
      )
    })

    test('an empty scope reads nothing from the database', async () => {
      const statements: string[] = []
      const counted = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        const scope = { accountIds: [], ...everything }
        expect(await repository.countConversations(counted, scope)).toBe(0)
        expect(await repository.findConversationsPage(counted, scope, { sortDirection: 'asc', limit: 20, offset: 0 })).toEqual([])
        expect(await repository.findLabels(counted, [])).toEqual(new Map())
        expect(statements).toEqual([])
      } finally {
        await counted.destroy()
      }
    })

    test("a page's ids statement from its shape's template is the one built afresh for those values, whichever shapes came before", async () => {
      // Every dimension of the shape, one at a time, in an order where each template is met by
      // another page of the same shape after pages of other shapes.
      const ranges = [everything, { createdFrom: new Date('2026-01-01T00:00:00Z'), createdBefore: new Date('2026-02-01T00:00:00Z') }]
      const windows = [
        { sortDirection: 'asc' as const, limit: 5, offset: 0 },
        { sortDirection: 'desc' as const, limit: 5, offset: 0 },
        { sortDirection: 'asc' as const, limit: 3, offset: 4 },
        { sortDirection: 'desc' as const, limit: 7, offset: 2 },
        { sortDirection: 'asc' as const, limit: 4, offset: 0, after: { sortAt: '2026-01-13 09:00:00.25', id: 120 } },
        { sortDirection: 'desc' as const, limit: 4, offset: 9, after: { sortAt: '2026-01-13 09:00:00.25', id: 120 } },
      ]
      const accountLists = [[3], [5], [3, 5], [5, 3, 7], [3, 5, 7], Array.from({ length: 64 }, (_, i) => i + 1), Array.from({ length: 65 }, (_, i) => i + 1)]
      const cases = accountLists.flatMap((accountIds) =>
        windows.flatMap((window) => ranges.flatMap((range) => (['created_at', 'updated_at'] as const).map((timeColumn) => ({ scope: { accountIds, ...range, timeColumn }, window })))),
      )
      for (const order of [cases, [...cases].reverse()]) {
        const warm = new QueryTemplates()
        for (const { scope, window } of order) {
          const fromTemplate = repository.pageIdsStatement(ctx.connection, scope, window, warm)
          const afresh = repository.pageIdsStatement(ctx.connection, scope, window, new QueryTemplates(0))
          expect({ sql: fromTemplate.sql, parameters: fromTemplate.parameters }).toEqual({ sql: afresh.sql, parameters: afresh.parameters })
        }
      }
      // And the rows: a window of two accounts read through a warm template, then afresh.
      const scope = { accountIds: [3, 5], ...everything }
      const first = await repository.findPageIds(ctx.connection, scope, { sortDirection: 'asc', limit: 6, offset: 0 })
      const second = await repository.findPageIds(ctx.connection, scope, { sortDirection: 'asc', limit: 6, offset: 6 })
      const whole = await repository.findPageIds(ctx.connection, scope, { sortDirection: 'asc', limit: 12, offset: 0 })
      expect([...first.ids, ...second.ids]).toEqual(whole.ids)
      expect(new Set(whole.ids).size).toBe(12)
    })
  })
}
