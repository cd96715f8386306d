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

const updatedTime = (description: string) => Type.String({ format: 'date-time', description, examples: ['2026-01-11T09:00:00Z'] })

/** A conversation as it is now: the documented endpoint's item, when it last changed, and deleted: false. */
export const LiveChangeItem = Type.Object(
  {
    ...ConversationItem.properties,
    updated_time: updatedTime('When the conversation last changed (updated_at; ISO 8601, UTC, to the second). Informative: the feed\'s order is its own.'),
    deleted: Type.Literal(false, { description: 'false: upsert this conversation by id.' }),
  },
  { title: 'LiveChangeItem' },
)
export type LiveChangeItem = Static<typeof LiveChangeItem>

/** A conversation deleted (exact mode only): its id, its account, when, and deleted: true. */
export const DeletedChangeItem = Type.Object(
  {
    id: Type.Integer({ description: 'The deleted conversation: delete it by id.', examples: [101] }),
    account_id: Type.Integer({ description: 'The account it belonged to.', examples: [3] }),
    deleted: Type.Literal(true, { description: 'true: the conversation was deleted.' }),
    updated_time: updatedTime('When it was deleted: a time within the deleting transaction (ISO 8601, UTC, to the second).'),
  },
  { title: 'DeletedChangeItem' },
)
export type DeletedChangeItem = Static<typeof DeletedChangeItem>

export const ChangeItem = Type.Union([LiveChangeItem, DeletedChangeItem])
export type ChangeItem = Static<typeof ChangeItem>

const accountIds = (description: string) => Type.Optional(Type.Array(Type.Integer(), { minItems: 1, description }))

export const ChangesPage = Type.Object({
  meta: Type.Object({
    page_size: Type.Integer({ description: 'Effective page size (after clamping).', examples: [100] }),
    next_cursor: Type.String({ description: 'Where this page ended: send it as cursor for the next page, now or later. Always given.' }),
    end_of_stream: Type.Boolean({ description: 'True when this page reached the end of what the feed can serve now: resume later with next_cursor.' }),
    end_time: Type.Integer({
      description:
        'Unix seconds, the database\'s clock. Plain mode: the feed is complete up to (not including) this instant, CHANGES_LAG_SECONDS before now ' +
        '(on a standby, before its last replayed commit). Exact mode: when this page was read.',
      examples: [1736553540],
    }),
    exact: Type.Boolean({
      description: 'true: the change capture is installed and this walk follows it (commits of any delay, deletions, changes of assignees, contacts and labels). false: plain mode (see the docs for its bounds).',
    }),
    accounts_added: accountIds('Accounts added to the allowlist since this walk\'s previous page (present only then): their rows follow in this walk.'),
    accounts_removed: accountIds('Accounts removed from the allowlist since this walk\'s previous page (present only then): drop their rows before applying this page.'),
  }),
  payload: Type.Array(ChangeItem),
})
export type ChangesPage = Static<typeof ChangesPage>
