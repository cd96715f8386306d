// The Elysia plugin that declares GET /api/v1/kpi/conversations/changes, the changes feed: the same
// token, allowlist and errors as the documented endpoint, in the same order of checks.
import { CloneType } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { ResponseDocs } from '../docs/openapi.ts'
import { EVERY_API_ANSWER } from '../docs/response-headers.ts'
import { API_TOKEN_SECURITY } from '../docs/swagger.ts'
import { MethodNotAllowedError } from '../errors.ts'
import { factsOf, noteAccountsRemoved } from '../ops/request-facts.ts'
import { CHANGES_INTEGER_PARAMETERS, CHANGES_PARAMETER_RULES, ChangesPage, ChangesQuery } from './changes.model.ts'
import { openChangesExport, readChanges, type ChangesDeps } from './changes.service.ts'
import { CHANGES_CSV, exportFilename, exportFormatOf } from './conversations.export.ts'
import { ErrorBody } from './conversations.model.ts'
import { allowlistReadBy, authenticateRequest, CONVERSATIONS_PATH, CONVERSATIONS_RESPONSES, exportAnswer } from './conversations.routes.ts'
import { validateQueryText } from './query-text.ts'

export const CHANGES_PATH = `${CONVERSATIONS_PATH}/changes`

const QUERY_RULES = { schema: ChangesQuery, rules: CHANGES_PARAMETER_RULES, integers: CHANGES_INTEGER_PARAMETERS, cursors: ['cursor'] } as const

// The feed's answers: those of the documented endpoint, but its own 200 and 422, and no 304.
const { 304: _notModified, ...ANSWERS } = CONVERSATIONS_RESPONSES
export const CHANGES_RESPONSES: ResponseDocs = {
  ...ANSWERS,
  200: {
    description:
      'A page of the feed (JSON): exact mode (meta.exact, the change capture installed) in commit order, deletions as deletion items; ' +
      'plain mode in updated_at then id order, up to end_time. With format=csv or format=ndjson (or the matching Accept), ' +
      'the feed to what it can serve now, streamed, with the cursor to resume in X-Next-Cursor.',
    headers: [...EVERY_API_ANSWER, 'Cache-Control', 'Content-Disposition', 'X-Next-Cursor'],
    otherContent: {
      'text/csv': { schema: { type: 'string', description: `RFC 4180, UTF-8 with a BOM, a header row: ${CHANGES_CSV.columns.join(',')}; a deletion fills id, account_id, updated_time and deleted` } },
      'application/x-ndjson': { schema: { type: 'string', description: 'One payload item as JSON a line.' } },
    },
  },
  410: {
    description:
      'Exact mode: the cursor is older than the change capture keeps (CHANGES_RETENTION_DAYS): the changes since are no longer known. ' +
      'Walk again from start_time into a fresh copy.',
    example: { error: 'cursor is older than the change capture keeps (30 days): the changes since are no longer known; walk again from start_time into a fresh copy' },
    headers: EVERY_API_ANSWER,
  },
  422: {
    description: 'Neither start_time nor cursor (or both), a cursor this feed did not give, or a parameter the feed does not take.',
    example: { error: 'start_time is required (Unix seconds), or a cursor to continue a walk' },
    headers: EVERY_API_ANSWER,
  },
}

export function changesRoutes(deps: ChangesDeps) {
  return new Elysia({ name: 'kpi.changes' })
    .all(
      CHANGES_PATH,
      () => {
        throw new MethodNotAllowedError(['GET', 'HEAD'])
      },
      { detail: { hide: true } },
    )
    .get(
      CHANGES_PATH,
      async ({ query, request }) => {
        const page = await readChanges(deps, query, new Set(new URL(request.url).searchParams.keys()), allowlistReadBy(request))
        factsOf(request).items = page.payload.length
        return page
      },
      {
        query: CloneType(ChangesQuery),
        // The token first, then the parameters: a caller without a valid token learns nothing.
        async transform({ request }) {
          await authenticateRequest(deps, request)
          validateQueryText(new URL(request.url).searchParams, QUERY_RULES)
        },
        async beforeHandle({ query, request }) {
          const params = new URL(request.url).searchParams
          const format = exportFormatOf(params.get('format') ?? undefined, request.headers.get('accept'))
          if (!format) return
          const { startTime, endTime, resumeCursor, batches } = await openChangesExport(deps, query, new Set(params.keys()), { allowlist: allowlistReadBy(request), onNarrowed: noteAccountsRemoved(request) })
          const response = exportAnswer(deps, request, format, exportFilename(format, startTime, endTime, 'kpi-conversation-changes'), batches, CHANGES_CSV)
          // The cursor that continues the feed right after this export.
          response.headers.set('x-next-cursor', resumeCursor)
          return response as unknown as void
        },
        response: {
          200: CloneType(ChangesPage),
          401: CloneType(ErrorBody),
          410: CloneType(ErrorBody),
          422: CloneType(ErrorBody),
          429: CloneType(ErrorBody),
          503: CloneType(ErrorBody),
        },
        detail: {
          summary: 'Changes feed: conversations as they change, for a warehouse that keeps a copy',
          description: [
            'Opt-in, beside the documented endpoint, with the same token, allowlist and errors. start_time starts a walk: every conversation',
            'updated at or after it, then whatever changes; store meta.next_cursor and resume with it later. Upsert live items by id, delete',
            'deletion items (deleted: true), drop the rows of meta.accounts_removed before applying a page.',
            'Exact mode (meta.exact: true, where the operator installed the change capture): every change of any field an item shows comes,',
            'once committed however late, deletions included; a cursor older than the capture keeps is 410.',
            'Plain mode (meta.exact: false): by updated_at, CHANGES_LAG_SECONDS behind the database\'s clock (end_time), with documented bounds.',
          ].join(' '),
          operationId: 'listConversationChanges',
          tags: ['KPI'],
          security: API_TOKEN_SECURITY,
        },
      },
    )
}
