// Contract: authentication. Only a `User` token whose user has the configured email (case-insensitive)
// passes; everything else is 401 {"error"}, before any parameter is looked at.
import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, request } from '../helpers.ts'
import { CONTRACT_NOW, OTHER_USER, TOKENS } from '../../fixtures/contract-data-set.ts'

localOnly('authentication: every kind of token owner')

function expect401(response: { status: number; body: any; headers: Headers }, message?: string) {
  expect(response.status).toBe(401)
  expect(response.headers.get('content-type')).toStartWith('application/json')
  expect(Object.keys(response.body)).toEqual(['error'])
  expect(response.body.error).toBeString()
  if (message) expect(response.body.error).toBe(message)
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] authentication`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)

    test('the KPI tracker\'s token passes (the stored email differs only in case)', async () => {
      expect((await conversations(app())).status).toBe(200)
    })

    test('no token: 401', async () => {
      expect401(await conversations(app(), {}, { token: null }))
    })

    test('an empty token: 401', async () => {
      expect401(await conversations(app(), {}, { token: '' }))
    })

    test('an unknown token: 401 "Invalid Access Token", as the platform words it', async () => {
      expect401(await conversations(app(), {}, { token: 'no-such-token' }), 'Invalid Access Token')
    })

    test('another user\'s token: 401', async () => {
      expect401(await conversations(app(), {}, { token: TOKENS.otherUser }))
    })

    test('a user without an email: 401', async () => {
      expect401(await conversations(app(), {}, { token: TOKENS.userWithoutEmail }))
    })

    test('an agent bot whose owner_id is the KPI tracker\'s user id: 401', async () => {
      expect401(await conversations(app(), {}, { token: TOKENS.agentBot }))
    })

    test('a platform app whose owner_id is the KPI tracker\'s user id: 401', async () => {
      expect401(await conversations(app(), {}, { token: TOKENS.platformApp }))
    })

    test('the token is also read from the api-access-token spelling (for proxies that drop underscores)', async () => {
      const response = await conversations(app(), {}, { token: null, headers: { 'api-access-token': TOKENS.kpiTracker } })
      expect(response.status).toBe(200)
    })

    test('only SP and HTAB are whitespace around a token: a no-break space, a vertical tab or a form feed makes it another token (401)', async () => {
      // HTTP's optional whitespace is SP and HTAB alone (RFC 9110 §5.6.3); JavaScript's trim() also
      // removes U+00A0, U+000B, U+000C and more, which let "token<NBSP>" pass as "token".
      for (const around of ['\u00a0', '\u000b', '\u000c']) {
        for (const token of [`${TOKENS.kpiTracker}${around}`, `${around}${TOKENS.kpiTracker}`]) {
          expect401(await conversations(app(), {}, { token }), 'Invalid Access Token')
        }
      }
      // Inside, anything but visible ASCII is no platform token either.
      expect401(await conversations(app(), {}, { token: `${TOKENS.kpiTracker.slice(0, 5)}\u00e9${TOKENS.kpiTracker.slice(5)}` }), 'Invalid Access Token')
      // A header line's own SP and HTAB around the value are not part of it.
      const spaced = new Request('http://localhost/api/v1/kpi/conversations', { headers: [['api_access_token', ` \t${TOKENS.kpiTracker}\t `]] })
      expect((await app().handle(spaced)).status).toBe(200)
      expect((await conversations(app(), {}, { token: null, headers: { 'api-access-token': `${TOKENS.kpiTracker}, ${TOKENS.kpiTracker}` } })).status).toBe(200)
    })

    test('the token in a query parameter is not a token: 401', async () => {
      expect401(await conversations(app(), { api_access_token: TOKENS.kpiTracker }, { token: null }))
    })

    test('the KPI tracker email is configurable, and compared case-insensitively', async () => {
      const configured = createApp({
        connection: ctx.connection,
        config: { kpiTrackerEmail: OTHER_USER.email.toUpperCase() },
        now: () => CONTRACT_NOW,
        logError: () => {},
      })
      expect((await conversations(configured, {}, { token: TOKENS.otherUser })).status).toBe(200)
      expect401(await conversations(configured, {}, { token: TOKENS.kpiTracker }))
    })

    test('401 comes before 422: without a valid token, bad parameters are not even looked at', async () => {
      expect401(await conversations(app(), { since: 'yesterday' }, { token: null }))
      expect401(await conversations(app(), { page_size: 'x' }, { token: 'no-such-token' }))
      expect401(await conversations(app(), { account_id: 4 }, { token: TOKENS.otherUser }))
    })

    test('a 401 body says nothing about the data', async () => {
      for (const token of [null, 'no-such-token', TOKENS.otherUser, TOKENS.agentBot]) {
        const response = await conversations(app(), { account_id: 3 }, { token })
        expect(response.text).not.toMatch(/payload|items_count|VBET Main|kpi_tracker|vbet\.com|"3"/i)
      }
    })

    test('through a real HTTP server, the api_access_token header (with underscores) arrives', async () => {
      const server = app().listen({ hostname: '127.0.0.1', port: 0 })
      try {
        const url = `http://127.0.0.1:${server.server!.port}/api/v1/kpi/conversations`
        expect((await fetch(url, { headers: { api_access_token: TOKENS.kpiTracker } })).status).toBe(200)
        expect((await fetch(url, { headers: { 'api-access-token': TOKENS.kpiTracker } })).status).toBe(200)
        expect((await fetch(url)).status).toBe(401)
      } finally {
        await server.stop()
      }
    })
  })
}

describe('request helper', () => {
  test('sends the KPI tracker token unless told otherwise', async () => {
    // Guards the suite itself: a helper that sent no token would make every 200 spec fail, and every 401 spec pass.
    const seen: Array<string | null> = []
    const probe = { handle: async (req: Request) => (seen.push(req.headers.get('api_access_token')), new Response('{}')) }
    await request(probe as any, '/x')
    await request(probe as any, '/x', { token: null })
    expect(seen).toEqual([TOKENS.kpiTracker, null])
  })
})
