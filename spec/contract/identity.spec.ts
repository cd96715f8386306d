// Contract: who the KPI tracker is, and which token a request carries. The stored email must be the
// configured one exactly, ignoring the case of ASCII letters only: a lookalike (another script, a
// Unicode case mapping, surrounding whitespace, a suffix or prefix) is somebody else. The token is
// read from every line of both header spellings; junk never reaches the database or a cache.
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/dialect.ts'
import { MAX_TOKEN_LENGTH } from '../../src/kpi/access-token.ts'
import { buildAccessToken, buildUser, seededFaker } from '../../fixtures/builders.ts'
import { insertRows } from '../../fixtures/insert.ts'
import { TOKENS } from '../../fixtures/contract-data-set.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations } from '../helpers.ts'

localOnly('identity: lookalike emails and header forms of the token')

/** Emails a registrant could choose that look like, or lowercase to, kpi_tracker@vbet.com. */
const LOOKALIKES: Record<string, string> = {
  'KELVIN SIGN for k (lowercases to k)': '\u212Api_tracker@vbet.com',
  'KELVIN SIGN inside': 'kpi_trac\u212Aer@vbet.com',
  'Cyrillic ka': '\u043Api_tracker@vbet.com',
  'Cyrillic er for p': 'k\u0440i_tracker@vbet.com',
  'Cyrillic ie for e': 'kpi_track\u0435r@vbet.com',
  'Greek kappa': '\u03BApi_tracker@vbet.com',
  'Greek omicron for o': 'kpi_tracker@vbet.c\u03BFm',
  'fullwidth k': '\uFF4Bpi_tracker@vbet.com',
  'dotless i': 'kp\u0131_tracker@vbet.com',
  'capital I with dot (lowercases to i + combining dot)': 'KP\u0130_TRACKER@VBET.COM',
  'long s is not s': 'kpi_tracker@vbet.com\u017F',
  'combining dot above': 'kpi_tracker@vbet.com\u0307',
  'zero-width space': 'kpi_\u200Btracker@vbet.com',
  'trailing no-break space': 'kpi_tracker@vbet.com\u00A0',
  'trailing space': 'kpi_tracker@vbet.com ',
  'leading space': ' kpi_tracker@vbet.com',
  'trailing newline': 'kpi_tracker@vbet.com\n',
  'leading tab': '\tkpi_tracker@vbet.com',
  'suffix on the domain': 'kpi_tracker@vbet.com.evil.example',
  'prefix on the local part': 'xkpi_tracker@vbet.com',
  'shorter domain': 'kpi_tracker@vbet.co',
  'subaddress': 'kpi_tracker+x@vbet.com',
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] who is the KPI tracker`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)
    const faker = seededFaker(1101)
    const cases = Object.entries(LOOKALIKES).map(([what, email], index) => ({ what, email, id: 9000 + index, token: `lookalike-token-${String(index).padStart(12, '0')}` }))
    let inserted: Promise<void> | undefined
    const lookalikes = () =>
      (inserted ??= (async () => {
        await insertRows(ctx.connection, 'users', cases.map(({ id, email }) => buildUser(faker, { id, email })))
        await insertRows(ctx.connection, 'access_tokens', cases.map(({ id, token }) => buildAccessToken(faker, { id, owner_id: id, token })))
      })())

    test.each(Object.keys(LOOKALIKES))('a user whose email is a lookalike (%s): 401', async (what) => {
      await lookalikes()
      const { token } = cases.find((entry) => entry.what === what)!
      const response = await conversations(app(), {}, { token })
      expect(response.status).toBe(401)
      expect(response.body).toEqual({ error: 'This access token may not read KPI conversations' })
    })

    test('the same email in other ASCII letter cases is the KPI tracker: 200', async () => {
      await insertRows(ctx.connection, 'users', [buildUser(faker, { id: 9100, email: 'Kpi_Tracker@VBET.com' })])
      await insertRows(ctx.connection, 'access_tokens', [buildAccessToken(faker, { id: 9100, owner_id: 9100, token: 'ascii-case-token-000000001' })])
      expect((await conversations(app(), {}, { token: 'ascii-case-token-000000001' })).status).toBe(200)
    })
  })

  describe(`[${dialect}] the token a request carries`, () => {
    const ctx = useDatabase(dialect)
    const app = () => contractApp(ctx.connection)
    const send = (headers: Array<[string, string]>) => conversations(app(), {}, { token: null, headers: new Headers(headers) as unknown as Record<string, string> })

    test('an empty api_access_token does not hide a valid api-access-token, nor the other way round', async () => {
      expect((await send([['api_access_token', ''], ['api-access-token', TOKENS.kpiTracker]])).status).toBe(200)
      expect((await send([['api_access_token', '   '], ['api-access-token', TOKENS.kpiTracker]])).status).toBe(200)
      expect((await send([['api_access_token', TOKENS.kpiTracker], ['api-access-token', '']])).status).toBe(200)
    })

    test('the same token in two header lines, or in both spellings, is that token', async () => {
      expect((await send([['api_access_token', TOKENS.kpiTracker], ['api_access_token', TOKENS.kpiTracker]])).status).toBe(200)
      expect((await send([['api_access_token', TOKENS.kpiTracker], ['api-access-token', TOKENS.kpiTracker]])).status).toBe(200)
    })

    test('two different tokens: 401, whichever comes first', async () => {
      for (const pair of [
        [TOKENS.kpiTracker, TOKENS.otherUser],
        [TOKENS.otherUser, TOKENS.kpiTracker],
      ]) {
        const response = await send([['api_access_token', pair[0]!], ['api_access_token', pair[1]!]])
        expect(response.status).toBe(401)
        expect(response.body.error).toBe('Send one access token: this request carries two different ones')
      }
    })

    test(`a token longer than ${MAX_TOKEN_LENGTH} characters is 401 before any query; one of ${MAX_TOKEN_LENGTH} is looked up`, async () => {
      const statements: string[] = []
      const connection = openDatabase(ctx.database.config, { readonly: true, onQuery: (sql) => statements.push(sql) })
      try {
        const recording = contractApp(connection)
        for (const length of [MAX_TOKEN_LENGTH + 1, 16_384]) {
          const response = await conversations(recording, {}, { token: 'x'.repeat(length) })
          expect(response.status).toBe(401)
          expect(response.body).toEqual({ error: 'Invalid Access Token' })
        }
        expect(statements).toEqual([])
        expect((await conversations(recording, {}, { token: 'x'.repeat(MAX_TOKEN_LENGTH) })).status).toBe(401)
        expect(statements).toHaveLength(1)
        expect(statements[0]).toContain('"access_tokens"')
      } finally {
        await connection.destroy()
      }
    })
  })
}
