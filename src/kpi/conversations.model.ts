// The endpoint's TypeBox schemas: the one source of the route's validation, of its TypeScript
// types, of the OpenAPI document Swagger UI shows, and of the contract suite's response checks.
import { t, type Static } from 'elysia'
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

const unixTimestamp = (description: string, example: number) =>
  t.Integer({ minimum: TIMESTAMP_MIN, maximum: TIMESTAMP_MAX, description, examples: [example] })

export const ConversationsQuery = t.Object({
  account_id: t.Optional(
    t.Integer({ description: 'Scope to a single account. Must be in the VBET allowlist (otherwise 401). Default: all VBET accounts.', examples: [3] }),
  ),
  since: t.Optional(
    unixTimestamp('Unix timestamp (seconds). Return conversations created at or after this time. Default: 100 years ago.', 1736467200),
  ),
  until: t.Optional(
    unixTimestamp(
      'Unix timestamp (seconds). Return conversations created at or before this time (the whole second). Default: the end of today (UTC).',
      1736553600,
    ),
  ),
  sort_direction: t.Optional(
    t.UnionEnum(['asc', 'desc'], { default: 'asc', description: 'Sort by created_at (then id). Accepted values: asc, desc.' }),
  ),
  page: t.Optional(t.Integer({ default: PAGE_DEFAULT, maximum: PAGE_MAX, description: 'Page number (1-based). A page below 1 is page 1.', examples: [1] })),
  page_size: t.Optional(
    t.Integer({ default: PAGE_SIZE_DEFAULT, description: `Records per page. Clamped to [${PAGE_SIZE_MIN}, ${PAGE_SIZE_MAX}].`, examples: [100] }),
  ),
})
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
}

const isoTime = (description: string) => t.String({ format: 'date-time', description, examples: ['2026-01-10T08:30:00Z'] })
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T, description: string) =>
  t.Union([schema, t.Null()], { description })

export const Assignee = t.Object(
  {
    id: t.Integer({ examples: [7] }),
    name: t.String({ examples: ['Jane Smith'] }),
    email: t.Union([t.String(), t.Null()], { examples: ['jane@example.com'] }),
  },
  { description: 'Assigned agent.' },
)

export const Contact = t.Object(
  {
    id: t.Integer({ examples: [55] }),
    identifier: t.Union([t.String(), t.Null()], { description: 'External id of the contact; null when it has none.', examples: ['ext-user-123'] }),
  },
  { description: 'Associated contact.' },
)

export const ConversationItem = t.Object({
  id: t.Integer({ description: 'Internal conversation ID.', examples: [101] }),
  display_id: t.Integer({ description: 'Human-readable conversation number within the account.', examples: [5] }),
  account_id: t.Integer({ description: 'Account the conversation belongs to.', examples: [3] }),
  created_time: isoTime('When the conversation was created (ISO 8601, UTC, to the second).'),
  resolved_time: nullable(isoTime('Resolution time.'), 'Value from additional_attributes.resolved_time (ISO 8601, UTC). Null if not set or unreadable.'),
  chat_duration: nullable(
    t.Integer(),
    'Seconds from conversation start to resolution: resolved_time - (reopen_time || created_at). Null if resolved_time is not set.',
  ),
  status: t.UnionEnum([...STATUS_WORDS, UNKNOWN_STATUS], {
    description: `open, resolved, pending, or snoozed (${UNKNOWN_STATUS} only for a status code the platform does not define).`,
    examples: ['resolved'],
  }),
  labels: t.Array(t.String(), { description: 'Labels attached to the conversation, in the order they were attached.', examples: [['urgent', 'billing']] }),
  assignee: nullable(Assignee, 'Assigned agent. Null if unassigned.'),
  contact: nullable(Contact, 'Associated contact. Null if not linked.'),
})

export const ConversationsPage = t.Object({
  meta: t.Object({
    items_count: t.Integer({ description: 'Total matching conversations (across all pages).', examples: [42] }),
    current_page: t.Integer({ description: 'Current page number.', examples: [1] }),
    page_size: t.Integer({ description: 'Effective page size (after clamping).', examples: [20] }),
  }),
  payload: t.Array(ConversationItem),
})
export type ConversationsPage = Static<typeof ConversationsPage>

export const ErrorBody = t.Object(
  { error: t.String({ description: 'What was wrong.' }) },
  { description: 'The platform\'s error shape.' },
)
