// The exported models are the contract: serving requests must not change them (Elysia adjusts the
// schemas it compiles, so the route hands it copies). Before that, the first 200 served added
// `additionalProperties: false` to ConversationsPage, and specs depended on their order.
import { describe, expect, test } from 'bun:test'
import { ConversationsPage, ConversationsQuery, ErrorBody } from '../../src/kpi/conversations.model.ts'
import { DIALECTS, useDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'

const snapshot = () => JSON.stringify([ConversationsPage, ConversationsQuery, ErrorBody])

describe.skipIf(!DIALECTS.includes('sqlite'))('the models', () => {
  const ctx = useDatabase('sqlite')
  test('are the same after an app has answered 200, 401 and 422', async () => {
    const before = snapshot()
    const app = contractApp(ctx.connection)
    expect((await conversations(app)).status).toBe(200)
    expect((await conversations(app, {}, { token: null })).status).toBe(401)
    expect((await conversations(app, { since: 'x' })).status).toBe(422)
    expect(snapshot()).toBe(before)
  })
})
