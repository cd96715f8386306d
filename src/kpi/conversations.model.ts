// The endpoint's TypeBox schemas: the one source of the route's validation, of its TypeScript
// types, of the OpenAPI document Swagger UI shows, and of the contract suite's response checks.
// The query uses Elysia's `t`, whose `t.Integer` is a string-or-integer union that lets Elysia
// coerce query text. The responses use plain TypeBox (`Type`): there such a union would let a
// body carry "42" for 42, and the document say so. `t.UnionEnum` renders as an `enum`.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { t } from 'elysia'
import {
  PAGE_DEFAULT,
  PAGE_MAX,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  PAGE_SIZE_MIN,
  STATUS_WORDS,
  TIMESTAMP_MAX,
  TIMESTAMP_MIN,
  UNKNOWN_STATUS,
} from './conversations.rules.ts'

const unixTimestamp = (description: string) => t.Integer({ minimum: TIMESTAMP_MIN, maximum: TIMESTAMP_MAX, description })

export const ConversationsQuery = t.Object(
  {
    account_id: t.Optional(
      t.Integer({ description: 'Scope to a single account. Must be in the VBET allowlist (otherwise 401). Default: all VBET accounts.' }),
    ),
    since: t.Optional(
      unixTimestamp('Unix timestamp (seconds). Return conversations created at or after this time. Default: 100 years ago (from the start of that day, UTC).'),
    ),
    until: t.Optional(
      unixTimestamp(
        'Unix timestamp (seconds). Return conversations created at or before this time (the whole second). Default: the end of today (UTC).',
      ),
    ),
    sort_direction: t.Optional(
      t.UnionEnum(['asc', 'desc'], { default: 'asc', description: 'Sort by created_at (then id). Accepted values: asc, desc.' }),
    ),
    page: t.Optional(t.Integer({ default: PAGE_DEFAULT, maximum: PAGE_MAX, description: 'Page number (1-based). A page below 1 is page 1.' })),
    page_size: t.Optional(
      t.Integer({ default: PAGE_SIZE_DEFAULT, description: `Records per page. Clamped to [${PAGE_SIZE_MIN}, ${PAGE_SIZE_MAX}].` }),
    ),
    format: t.Optional(
      t.UnionEnum(['json', 'csv', 'ndjson'], {
        description:
          'json (the default): pages as documented. csv or ndjson: every conversation of the range in one streamed download ' +
          '(page, page_size and cursor are not used). The same as sending Accept: text/csv or Accept: application/x-ndjson.',
      }),
    ),
    cursor: t.Optional(
      t.String({
        maxLength: 1000,
        description:
          'Optional keyset pagination. Send it empty (`cursor=`) to start a walk: every answer then carries meta.next_cursor, ' +
          'which, sent as `cursor`, gives the next page at the same cost at any depth, and null on the last page. ' +
          'The walk keeps the query of its first page (account_id, since, until, sort_direction, page_size); page is not used.',
      }),
    ),
  },
  // Parameters the API does not define are ignored, as the contract says: the app does not strip
  // them (Elysia's normalize is off, src/app.ts), so the schema lets them through.
  { additionalProperties: true },
)
export type ConversationsQuery = Static<typeof ConversationsQuery>

/** The query parameters that must be decimal integers, in the order the API document lists them. */
export const INTEGER_PARAMETERS = ['account_id', 'since', 'until', 'page', 'page_size'] as const

/** What each parameter must be, worded for a 422 body. */
export const PARAMETER_RULES: Record<keyof ConversationsQuery, string> = {
  account_id: 'account_id must be an integer account id',
  since: `since must be an integer Unix timestamp in seconds, from ${TIMESTAMP_MIN} to ${TIMESTAMP_MAX}`,
  until: `until must be an integer Unix timestamp in seconds, from ${TIMESTAMP_MIN} to ${TIMESTAMP_MAX}`,
  sort_direction: 'sort_direction must be asc or desc',
  page: `page must be an integer no greater than ${PAGE_MAX}`,
  page_size: `page_size must be an integer (it is clamped to [${PAGE_SIZE_MIN}, ${PAGE_SIZE_MAX}])`,
  format: 'format must be json, csv or ndjson',
  cursor: 'cursor must be empty (to start a walk) or a meta.next_cursor this service gave',
}

const isoTime = (description: string) => Type.String({ format: 'date-time', description, examples: ['2026-01-10T08:30:00Z'] })
const nullable = <T extends TSchema>(schema: T, description: string) => Type.Union([schema, Type.Null()], { description })

export const Assignee = Type.Object(
  {
    id: Type.Integer({ examples: [7] }),
    name: Type.String({ examples: ['Jane Smith'] }),
    email: Type.Union([Type.String(), Type.Null()], { examples: ['jane@example.com'] }),
  },
  { description: 'Assigned agent.' },
)

export const Contact = Type.Object(
  {
    id: Type.Integer({ examples: [55] }),
    identifier: Type.Union([Type.String(), Type.Null()], { description: 'External id of the contact; null when it has none.', examples: ['ext-user-123'] }),
  },
  { description: 'Associated contact.' },
)

export const ConversationItem = Type.Object({
  id: Type.Integer({ description: 'Internal conversation ID.', examples: [101] }),
  display_id: Type.Integer({ description: 'Human-readable conversation number within the account.', examples: [5] }),
  account_id: Type.Integer({ description: 'Account the conversation belongs to.', examples: [3] }),
  created_time: isoTime('When the conversation was created (ISO 8601, UTC, to the second).'),
  resolved_time: nullable(isoTime('Resolution time.'), 'Value from additional_attributes.resolved_time (ISO 8601, UTC). Null if not set or unreadable.'),
  chat_duration: nullable(
    Type.Integer(),
    'Seconds from conversation start to resolution: resolved_time - (reopen_time || created_at). Null if resolved_time is not set.',
  ),
  status: t.UnionEnum([...STATUS_WORDS, UNKNOWN_STATUS], {
    description: `open, resolved, pending, or snoozed (${UNKNOWN_STATUS} only for a status code the platform does not define).`,
    examples: ['resolved'],
  }),
  labels: Type.Array(Type.String(), { description: 'Labels attached to the conversation, in the order they were attached.', examples: [['urgent', 'billing']] }),
  assignee: nullable(Assignee, 'Assigned agent. Null if unassigned.'),
  contact: nullable(Contact, 'Associated contact. Null if not linked.'),
})

export const ConversationsPage = Type.Object({
  meta: Type.Object({
    items_count: Type.Integer({ description: 'Total matching conversations (across all pages).', examples: [42] }),
    current_page: Type.Integer({ description: 'Current page number.', examples: [1] }),
    page_size: Type.Integer({ description: 'Effective page size (after clamping).', examples: [20] }),
    next_cursor: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description: 'Only when the request sent `cursor`: the cursor of the next page, null on the last page.',
      }),
    ),
  }),
  payload: Type.Array(ConversationItem),
})
export type ConversationsPage = Static<typeof ConversationsPage>

export const ErrorBody = Type.Object(
  { error: Type.String({ description: 'What was wrong.' }) },
  { description: 'The platform\'s error shape.' },
)

/** The API document's example response, verbatim: shown in Swagger UI, and checked against the schema by a spec. */
export const DOCUMENTED_EXAMPLE: ConversationsPage = {
  meta: { items_count: 42, current_page: 1, page_size: 20 },
  payload: [
    {
      id: 101,
      display_id: 5,
      account_id: 3,
      created_time: '2026-01-10T08:30:00Z',
      resolved_time: '2026-01-10T09:15:00Z',
      chat_duration: 2700,
      status: 'resolved',
      labels: ['urgent', 'billing'],
      assignee: { id: 7, name: 'Jane Smith', email: 'jane@example.com' },
      contact: { id: 55, identifier: 'ext-user-123' },
    },
    {
      id: 102,
      display_id: 6,
      account_id: 3,
      created_time: '2026-01-11T10:00:00Z',
      resolved_time: null,
      chat_duration: null,
      status: 'open',
      labels: [],
      assignee: null,
      contact: null,
    },
  ],
}
