// Requests against an in-process app, as an HTTP client would send them (app.handle needs a real
// host such as localhost: with a made-up one Elysia answers every route 404).
import { createApp, type AppDeps } from '../src/app.ts'
import { DEFAULT_KPI_TRACKER_EMAIL } from '../src/config.ts'
import { openDatabase, type Connection } from '../src/db/dialect.ts'
import { CONTRACT_NOW, TOKENS } from '../fixtures/contract-data-set.ts'

export type TestApp = ReturnType<typeof createApp>

/**
 * The app over a connection, with the contract suite's pinned clock and the default KPI tracker
 * email. The pinned clock stands for the database's too (the changes feed's plain mode reads the
 * database's time; spec/contract/changes-clock.spec.ts checks that the real app does).
 */
export function contractApp(connection: Connection, overrides: Partial<AppDeps> = {}): TestApp {
  const now = overrides.now ?? (() => CONTRACT_NOW)
  return createApp({
    connection,
    config: { kpiTrackerEmail: DEFAULT_KPI_TRACKER_EMAIL },
    now,
    feedClock: async () => ({ now: now().getTime() / 1000, replayed: undefined }),
    logError: () => {},
    log: () => {},
    ...overrides,
  })
}

export interface TestResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

export interface RequestOptions {
  /** The api_access_token header; the KPI tracker's by default, null for none. */
  readonly token?: string | null
  readonly headers?: Record<string, string>
  readonly method?: string
}

export async function request(app: TestApp, path: string, options: RequestOptions = {}): Promise<TestResponse> {
  const token = options.token === undefined ? TOKENS.kpiTracker : options.token
  const headers = new Headers(options.headers)
  if (token !== null) headers.set('api_access_token', token)
  return readResponse(await app.handle(new Request(`http://localhost${path}`, { method: options.method ?? 'GET', headers })))
}

/** A response's status, headers and text, and its body parsed when it is JSON. */
export async function readResponse(response: Response): Promise<TestResponse> {
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, headers: response.headers, body, text }
}

/**
 * An app whose PostgreSQL refuses every connection (port 1 on loopback: nothing listens there),
 * for what the service does without its database. Destroy the connection after use.
 */
export function appWithoutDatabase(): { app: TestApp; connection: Connection } {
  const connection = openDatabase(
    { dialect: 'postgres', url: 'postgres://kpi@127.0.0.1:1/kpi', poolSize: 2, connectTimeoutMs: 1000, statementTimeoutMs: 1000 },
    { readonly: true },
  )
  return { app: contractApp(connection), connection }
}

/** GET the endpoint with these query parameters. */
export function conversations(app: TestApp, query: Record<string, string | number> | string = {}, options: RequestOptions = {}) {
  const search = typeof query === 'string' ? query : new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()
  return request(app, `/api/v1/kpi/conversations${search ? `?${search}` : ''}`, options)
}

/** The ids of a 200 response's payload, in order. */
export function ids(response: TestResponse): number[] {
  return (response.body.payload as Array<{ id: number }>).map((item) => item.id)
}

/** Whole range of the contract data set and then some: since/until that include every conversation. */
export const EVERYTHING = { since: -62135596800, until: 253402300799 } as const
