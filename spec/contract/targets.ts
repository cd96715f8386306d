// What the contract suite talks to. Local mode: the app in process over the fixture data set, once
// per dialect. Remote mode (KPI_BASE_URL): a deployment over real HTTP, read requests only, with the
// optional inputs docs/contract-suite.md lists.
import { contractApp, conversations, readResponse, request, type TestResponse } from '../helpers.ts'
import { DIALECTS, REMOTE_BASE_URL, useDatabase } from '../setup.ts'
import { NON_VBET_ACCOUNTS, TOKENS, VBET_ACCOUNTS } from '../../fixtures/contract-data-set.ts'

export type Query = Record<string, string | number>

/** A response, with the request that got it as an integrator would read it (never the token). */
export interface Answer extends TestResponse {
  readonly request: string
}

export interface Target {
  readonly name: string
  readonly remote: boolean
  /** GET the endpoint (or `path`, the changes feed say): with the target's token, `token: null` for none, or another token. */
  get(query?: Query | string, options?: { token?: string | null; path?: string; headers?: Record<string, string> }): Promise<Answer>
  /** GET any path of the service, without a token. */
  getPath(path: string): Promise<Answer>
  /** An account the token may read (for scoped checks), if known. */
  readonly accountId: number | undefined
  /** An account outside the allowlist (for the 401 check), if known. */
  readonly foreignAccountId: number | undefined
}

function search(query: Query | string = {}): string {
  const text = typeof query === 'string' ? query : new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()
  return text ? `?${text}` : ''
}

const PATH = '/api/v1/kpi/conversations'

function optionalInteger(name: string): number | undefined {
  const raw = process.env[name]?.trim()
  if (!raw) return undefined
  if (!/^-?\d+$/.test(raw)) throw new Error(`${name} must be an integer (got "${raw}")`)
  return Number(raw)
}

function remoteTarget(baseUrl: string): Target {
  const token = process.env.KPI_TOKEN?.trim()
  if (!token) throw new Error('remote mode needs KPI_TOKEN: the KPI tracker\'s api_access_token of that deployment')
  const send = async (path: string, sentToken: string | null, extra: Record<string, string> = {}): Promise<Answer> => {
    const headers: Record<string, string> = sentToken === null ? { ...extra } : { ...extra, api_access_token: sentToken }
    const answer = await readResponse(await fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) }))
    const tokenNote = sentToken === null ? ' (no token)' : sentToken === token ? '' : ' (another token)'
    return { ...answer, request: `GET ${baseUrl}${path}${tokenNote}` }
  }
  return {
    name: 'remote',
    remote: true,
    get: (query, options = {}) => send(`${options.path ?? PATH}${search(query)}`, options.token === undefined ? token : options.token, options.headers),
    getPath: (path) => send(path, null),
    accountId: optionalInteger('KPI_ACCOUNT_ID'),
    foreignAccountId: optionalInteger('KPI_FOREIGN_ACCOUNT_ID'),
  }
}

function localTarget(dialect: (typeof DIALECTS)[number]): Target {
  const ctx = useDatabase(dialect)
  // One app for the target, as one deployment: its caches are part of what is checked.
  let shared: ReturnType<typeof contractApp> | undefined
  const app = () => (shared ??= contractApp(ctx.connection))
  const describeRequest = (path: string, token: string | null | undefined) =>
    `GET ${path}${token === null ? ' (no token)' : token === undefined || token === TOKENS.kpiTracker ? '' : ' (another token)'}`
  return {
    name: dialect,
    remote: false,
    async get(query, options = {}) {
      const path = `${options.path ?? PATH}${search(query)}`
      const answer = options.path ? await request(app(), path, options) : await conversations(app(), query, options)
      return { ...answer, request: describeRequest(path, options.token) }
    },
    async getPath(path) {
      const answer = await readResponse(await app().handle(new Request(`http://localhost${path}`)))
      return { ...answer, request: describeRequest(path, null) }
    },
    accountId: VBET_ACCOUNTS[0],
    foreignAccountId: NON_VBET_ACCOUNTS[0],
  }
}

/** The targets of this run: the remote deployment, or the app on every dialect. Call inside describe. */
export function forEachTarget(define: (target: Target) => void): void {
  if (REMOTE_BASE_URL) define(remoteTarget(REMOTE_BASE_URL))
  else for (const dialect of DIALECTS) define(localTarget(dialect))
}

/**
 * Runs `check` and, when it fails, says which rule broke, for which request, and what differed:
 * what an integrator needs to read a failure without the suite's source.
 */
export function rule(name: string, answer: Pick<Answer, 'request' | 'status' | 'text'>, check: () => void): void {
  try {
    check()
  } catch (error) {
    const shown = answer.text.length > 600 ? `${answer.text.slice(0, 600)}…` : answer.text
    const detail = (error as Error).message.replace(/\u001b\[[0-9;]*m/g, '')
    throw new Error(`rule broken: ${name}\n  request: ${answer.request}\n  answer: ${answer.status} ${shown}\n  ${detail}`)
  }
}
