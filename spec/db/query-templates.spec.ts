// Query templates: a query built once per shape with placeholders, its values filled in per call.
// Checked against Kysely compiling the same query with the values themselves, on a real SQLite.
import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { openDatabase } from '../../src/db/dialect.ts'
import { QueryTemplates } from '../../src/db/query-templates.ts'

const { db } = openDatabase({ dialect: 'sqlite', filename: ':memory:', isEmbeddedDefault: false }, { readonly: false })

const byAccount = (v: { account: unknown; limit: unknown }) =>
  db.selectFrom('conversations').select('id').where('account_id', '=', v.account as number).orderBy('id').limit(v.limit as number)

describe('QueryTemplates', () => {
  test('a shape met again gives the SQL and the parameters Kysely compiles from the values themselves', () => {
    const templates = new QueryTemplates()
    for (const values of [{ account: 3, limit: 20 }, { account: 5, limit: 1000 }, { account: 7, limit: 1 }]) {
      const templated = templates.compile('by-account', values, byAccount)
      const direct = byAccount(values).compile()
      expect(templated.sql).toBe(direct.sql)
      expect(templated.parameters).toEqual(direct.parameters)
    }
    expect(templates.size).toBe(1)
  })

  test('a value used twice is bound twice, each time with its value', () => {
    const templates = new QueryTemplates()
    const twice = (v: { n: unknown }) => db.selectFrom('conversations').select('id').where('id', '>', v.n as number).limit(v.n as number)
    templates.compile('twice', { n: 1 }, twice)
    expect(templates.compile('twice', { n: 9 }, twice).parameters).toEqual(twice({ n: 9 }).compile().parameters)
  })

  test('a value written into the SQL text is refused when the template is made, not repeated later', () => {
    const inlined = (v: { account: unknown }) => db.selectFrom('conversations').select('id').where(sql<boolean>`account_id = ${sql.raw(String(v.account))}`)
    expect(() => new QueryTemplates().compile('inlined', { account: 3 }, inlined)).toThrow(/account must be bound as parameters/)
  })

  test('a value the query leaves out is refused', () => {
    expect(() => new QueryTemplates().compile('unused', { account: 3, limit: 5 }, (v) => db.selectFrom('conversations').select('id').limit(v.limit))).toThrow(
      /account must be bound as parameters/,
    )
  })

  test('past its maximum it keeps no more shapes, and still compiles every query right', () => {
    const templates = new QueryTemplates(2)
    for (let shape = 0; shape < 5; shape++) {
      const values = { account: shape, limit: shape + 1 }
      const templated = templates.compile(`shape-${shape}`, values, byAccount)
      expect(templated.parameters).toEqual(byAccount(values).compile().parameters)
    }
    expect(templates.size).toBe(2)
  })
})
