// The changes feed's TypeBox schemas (GET /api/v1/kpi/conversations/changes): its query, its page
// and its item (the documented endpoint's item plus updated_time). The one source of validation,
// types, the OpenAPI document and the contract suite's checks, like conversations.model.ts.
import { Type, type Static } from '@sinclair/typebox'
import { t } from 'elysia'
import { PAGE_SIZE_MAX, PAGE_SIZE_MIN, TIMESTAMP_MAX, TIMESTAMP_MIN } from './conversations.rules.ts'
import { ConversationItem } from './conversations.model.ts'

export const CHANGES_PAGE_SIZE_DEFAULT = 100

export const ChangesQuery = t.Object(
  {
    start_time: t.Optional(
      t.Integer({
        minimum: TIMESTAMP_MIN,
        maximum: TIMESTAMP_MAX,
        description: 'Unix timestamp (seconds), inclusive: conversations whose updated_at is at or after it. Starts a walk; required unless cursor is given.',
      }),
    ),
    cursor: t.Optional(
      t.String({
        maxLength: 1000,
        description: 'meta.next_cursor of an earlier page (or X-Next-Cursor of an export): continues the walk where it stood, minutes or days later.',
      }),
    ),
    account_id: t.Optional(t.Integer({ description: 'Scope to a single account. Must be in the VBET allowlist (otherwise 401). Default: all VBET accounts.' })),
    page_size: t.Optional(
      t.Integer({ default: CHANGES_PAGE_SIZE_DEFAULT, description: `Records per page. Clamped to [${PAGE_SIZE_MIN}, ${PAGE_SIZE_MAX}].` }),
    ),
    format: t.Optional(
      t.UnionEnum(['json', 'csv', 'ndjson'], {
        description: 'json (the default): pages. csv or ndjson: the feed to end_time in one streamed download, the cursor to resume in X-Next-Cursor.',
      }),
    ),
  },
  // Parameters the API does not define are ignored, as the contract says: the app does not strip
  // them (Elysia's normalize is off, src/app.ts), so the schema lets them through.
  { additionalProperties: true },
)
export type ChangesQuery = Static<typeof ChangesQuery>

export const CHANGES_INTEGER_PARAMETERS = ['start_time', 'account_id', 'page_size'] as const

export const CHANGES_PARAMETER_RULES: Record<keyof ChangesQuery, string> = {
  start_time: `start_time must be an integer Unix timestamp in seconds, from ${TIMESTAMP_MIN} to ${TIMESTAMP_MAX}`,
  cursor: 'cursor must be a meta.next_cursor this feed gave',
  account_id: 'account_id must be an integer account id',
  page_size: `page_size must be an integer (it is clamped to [${PAGE_SIZE_MIN}, ${PAGE_SIZE_MAX}])`,
  format: 'format must be json, csv or ndjson',
}

export const ChangeItem = Type.Object({
  ...ConversationItem.properties,
  updated_time: Type.String({ format: 'date-time', description: 'When the conversation last changed (updated_at; ISO 8601, UTC, to the second).', examples: ['2026-01-11T09:00:00Z'] }),
})
export type ChangeItem = Static<typeof ChangeItem>

export const ChangesPage = Type.Object({
  meta: Type.Object({
    page_size: Type.Integer({ description: 'Effective page size (after clamping).', examples: [100] }),
    next_cursor: Type.String({ description: 'Where this page ended: send it as cursor for the next page, now or later. Always given.' }),
    end_of_stream: Type.Boolean({ description: 'True when this page reached end_time: the feed is complete up to it; resume later with next_cursor.' }),
    end_time: Type.Integer({
      description: 'Unix seconds: the feed is complete up to (not including) this instant, CHANGES_LAG_SECONDS before now; younger changes come later.',
      examples: [1736553540],
    }),
  }),
  payload: Type.Array(ChangeItem),
})
export type ChangesPage = Static<typeof ChangesPage>
