// The Elysia plugin that declares GET /api/v1/kpi/conversations: its schemas (validation and
// OpenAPI), the order of its checks (token, then parameters, then allowlist), and its errors.
import { CloneType } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import { MethodNotAllowedError, UnauthorizedError } from '../errors.ts'
import { readAccessToken } from './access-token.ts'
import { validateQueryText } from './query-text.ts'
import { UNUSABLE_REQUEST_RESPONSE } from '../ops/request-target.ts'
import type { ResponseDocs } from '../docs/openapi.ts'
import { EVERY_ANSWER, EVERY_API_ANSWER } from '../docs/response-headers.ts'
import { API_TOKEN_SECURITY } from '../docs/swagger.ts'
import { ConversationsPage, ConversationsQuery, DOCUMENTED_EXAMPLE, ErrorBody, INTEGER_PARAMETERS, PARAMETER_RULES } from './conversations.model.ts'
import { factsOf, noteAccountsRemoved } from '../ops/request-facts.ts'
import { CONVERSATIONS_CSV, CSV_COLUMNS, exportFilename, exportFormatOf, exportHeaders, exportResponse, type CsvShape, type ExportFormat } from './conversations.export.ts'
import { authenticate, openExport, readConversationsPage, type AllowlistRead, type KpiDeps } from './conversations.service.ts'

export const CONVERSATIONS_PATH = '/api/v1/kpi/conversations'

/** What the OpenAPI document says of each answer, with the API document's examples and the headers each carries. */
export const CONVERSATIONS_RESPONSES: ResponseDocs = {
  200: {
    description:
      'A page of conversations (JSON); with format=csv or format=ndjson (or the matching Accept), every conversation of the range, streamed. ' +
      'JSON pages carry a strong ETag and Cache-Control: private, no-store; exports a Content-Disposition. ' +
      'A generated client that wants the page alone asks for application/json (openapi-fetch: createClient<paths, "application/json">()).',
    example: DOCUMENTED_EXAMPLE,
    headers: [...EVERY_API_ANSWER, 'ETag', 'Cache-Control', 'Content-Disposition'],
    otherContent: {
      'text/csv': {
        schema: { type: 'string', description: `RFC 4180, UTF-8 with a BOM, a header row: ${CSV_COLUMNS.join(',')}; labels joined with ;` },
        example: `${CSV_COLUMNS.join(',')}\r\n101,5,3,2026-01-10T08:30:00Z,2026-01-10T09:15:00Z,2700,resolved,urgent;billing,7,Jane Smith,jane@example.com,55,ext-user-123\r\n`,
      },
      'application/x-ndjson': { schema: { type: 'string', description: 'One payload item as JSON a line.' } },
    },
  },
  304: {
    description: 'Not modified: the If-None-Match header holds the ETag of this very answer. No body.',
    headers: [...EVERY_API_ANSWER, 'ETag', 'Cache-Control'],
  },
  400: UNUSABLE_REQUEST_RESPONSE,
  401: {
    description: 'No token, an unknown token, a token that is not the KPI tracker\'s, two different tokens, or account_id not in the VBET allowlist.',
    example: { error: 'Invalid Access Token' },
    headers: EVERY_API_ANSWER,
  },
  422: {
    description: 'A parameter the API does not take: since or until not an integer Unix timestamp, sort_direction not asc/desc, and the like.',
    example: { error: PARAMETER_RULES.since },
    headers: EVERY_API_ANSWER,
  },
  429: {
    description:
      'Past the per-token rate limit (RATE_LIMIT_PER_MINUTE, 600 by default), or past the failed authentications allowed from one address ' +
      '(AUTH_FAILURES_PER_MINUTE, 30); retry after the Retry-After seconds.',
    example: { error: 'Too many requests: at most 600 requests a minute for one token; retry after 12 s' },
    headers: [...EVERY_API_ANSWER, 'Retry-After'],
  },
  503: {
    description:
      'The database did not answer in time ("The database is unavailable"), or the service is busy: every database connection ' +
      'is in use, or exports hold their share of them ("The service is busy"); retry after the Retry-After seconds.',
    example: { error: 'The database is unavailable; try again shortly' },
    headers: [...EVERY_API_ANSWER, 'Retry-After'],
  },
  default: {
    description:
      'Any other error, in the same {"error"} shape: 404 for a path that is not an operation of this API, 405 for a method the path ' +
      'does not take (with Allow), 500 for a defect of the service (logged; the body says nothing of it).',
    example: { error: 'Resource could not be found' },
    jsonSchema: ErrorBody,
    headers: [...EVERY_ANSWER, 'Allow'],
  },
}

/** Request headers the route reads besides the token, for the OpenAPI document. */
export const CONVERSATIONS_HEADER_PARAMETERS = [
  {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'The ETag of an earlier JSON answer to the same request: while the answer is unchanged, it is 304 with no body.',
    schema: { type: 'string' },
  },
]

/** The documented endpoint's query text rules (src/kpi/query-text.ts checks them). */
const QUERY_RULES = { schema: ConversationsQuery, rules: PARAMETER_RULES, integers: INTEGER_PARAMETERS, cursors: ['cursor'] } as const

/** The allowlist each request read while it authenticated (with its token's owner), for its own scope only. */
const allowlistReads = new WeakMap<Request, AllowlistRead>()

/** The allowlist as `request` read it while it authenticated; undefined when it did not (its token's owner was cached). */
export function allowlistReadBy(request: Request): AllowlistRead | undefined {
  return allowlistReads.get(request)
}

/**
 * Lets through only the KPI tracker's token (every route of the API checks it first); a failure is
 * noted for the per-address limit on failed authentications (src/http.ts).
 * @throws {UnauthorizedError} as authenticate does.
 */
export async function authenticateRequest(deps: KpiDeps, request: Request): Promise<void> {
  try {
    const read = await authenticate(deps, readAccessToken(request.headers))
    if (read) allowlistReads.set(request, read)
  } catch (error) {
    if (error instanceof UnauthorizedError) factsOf(request).authFailed = true
    throw error
  }
}

/**
 * A route's export: streamed (and counted in flight until its last byte, src/http.ts), or for HEAD
 * the same headers and no row read (the batches are lazy: never started).
 */
export function exportAnswer<Item>(
  deps: Pick<KpiDeps, 'onStreamError'>,
  request: Request,
  format: ExportFormat,
  filename: string,
  batches: AsyncIterator<Item[]>,
  csv: CsvShape<Item>,
): Response {
  if (request.method === 'HEAD') {
    // No row is read: the batches (never started) give back what they hold (a place in the pool's export share).
    void batches.return?.(undefined)
    // What GET says: a streamed export's length is unknown up front, so it goes chunked. Without
    // the header, Bun answers a body-less HEAD with Content-Length: 0, which tells a client the
    // export is empty (RFC 9110 §9.3.2: HEAD's header fields are GET's).
    return new Response(null, { headers: { ...exportHeaders(format, filename), 'transfer-encoding': 'chunked' } })
  }
  factsOf(request).streamed = true
  return exportResponse(format, filename, batches, (error) => deps.onStreamError?.(error), csv)
}

export function conversationsRoutes(deps: KpiDeps) {
  return new Elysia({ name: 'kpi.conversations' })
    .all(
      CONVERSATIONS_PATH,
      () => {
        throw new MethodNotAllowedError(['GET', 'HEAD'])
      },
      { detail: { hide: true } },
    )
    .get(
      CONVERSATIONS_PATH,
      async ({ query, request }) => {
        // The names the request itself sent: the schema fills in defaults, and a cursor must know which were asked.
        const given = new Set(new URL(request.url).searchParams.keys())
        const page = await readConversationsPage(deps, query, given, allowlistReadBy(request))
        factsOf(request).items = page.payload.length
        return page
      },
      {
        // Elysia adjusts the schemas it compiles (e.g. additionalProperties on the response): it gets
        // copies, so the exported models stay exactly what the document and the contract suite use.
        query: CloneType(ConversationsQuery),
        // Transform runs before the schema's validation: a caller without a valid token learns
        // nothing, not even which parameters are wrong.
        async transform({ request }) {
          await authenticateRequest(deps, request)
          validateQueryText(new URL(request.url).searchParams, QUERY_RULES)
        },
        // After the token and the parameters are checked: a CSV or NDJSON export answers here, streamed.
        async beforeHandle({ query, request }) {
          // From the URL, not `query`: Elysia fills an absent optional enum with its first value.
          const asked = new URL(request.url).searchParams.get('format') ?? undefined
          const format = exportFormatOf(asked, request.headers.get('accept'))
          if (!format) return
          const { since, until, batches } = await openExport(deps, query, allowlistReadBy(request), noteAccountsRemoved(request))
          // Elysia types this hook's answer by the route's JSON schemas; a Response is sent as it is.
          return exportAnswer(deps, request, format, exportFilename(format, since, until), batches, CONVERSATIONS_CSV) as unknown as void
        },
        // 429 is answered before the app (src/http.ts); it is declared here to be documented with the rest.
        response: {
          200: CloneType(ConversationsPage),
          401: CloneType(ErrorBody),
          422: CloneType(ErrorBody),
          429: CloneType(ErrorBody),
          503: CloneType(ErrorBody),
        },
        detail: {
          summary: 'Conversations of the VBET accounts, for KPI analysis',
          description: [
            'Paginated conversation data scoped to the accounts of the VBET_ACCOUNT_IDS installation config.',
            'Only the user with the configured KPI tracker email (kpi_tracker@vbet.com by default) may call it.',
            '',
            'Examples from the API document:',
            '- all VBET conversations for a date range: `?since=1736467200&until=1736553600&page=1&page_size=100`',
            '- one account, sorted descending: `?account_id=3&sort_direction=desc&page=1&page_size=50`',
            '',
            'Opt-in additions: `cursor` for keyset pagination, `format=csv` / `format=ndjson` (or the Accept header) for a streamed export of the whole range.',
          ].join('\n'),
          operationId: 'listConversations',
          tags: ['KPI'],
          security: API_TOKEN_SECURITY,
        },
      },
    )
}
