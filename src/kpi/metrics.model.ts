// The metrics' TypeBox schemas (GET /api/v1/kpi/conversations/metrics): its query, its row and its
// page. The one source of the route's validation, of its TypeScript types, of the OpenAPI document
// and of the contract suite's checks, like conversations.model.ts (whose account_id, since and
// until it takes as they are: the same parameters, the same rules).
import { CloneType, Type, type Static, type TSchema } from '@sinclair/typebox'
import { t } from 'elysia'
import { ConversationsQuery, PARAMETER_RULES } from './conversations.model.ts'
import { STATUS_WORDS, UNKNOWN_STATUS } from './conversations.rules.ts'
import { DEFAULT_TIME_ZONE, TIME_ZONE_RULE } from './metrics.periods.ts'
import { GROUP_BY_RULE, GROUP_KEYS, MAX_ROWS, type GroupKey } from './metrics.rules.ts'

const { account_id, since, until } = ConversationsQuery.properties

export const MetricsQuery = t.Object(
  {
    account_id: CloneType(account_id),
    since: CloneType(since),
    until: CloneType(until),
    time_zone: t.Optional(
      t.String({
        default: DEFAULT_TIME_ZONE,
        maxLength: 64,
        description:
          'IANA time zone name (UTC, Europe/Berlin, Asia/Yerevan, links such as US/Eastern). Periods are its local calendar days, ' +
          'ISO weeks and months: a day across a daylight-saving change is 23 or 25 hours. A bare offset (+02:00) is refused (422).',
      }),
    ),
    group_by: t.Optional(
      t.String({
        default: '',
        maxLength: 200,
        description:
          `Comma-separated, any of ${GROUP_KEYS.join(', ')} (week: ISO, from Monday), each at most once, at most one period; rows are ordered by ` +
          'these keys in this order. Empty: one row for the whole range. A conversation with several labels counts once in each label\'s group; ' +
          'one without labels in the group label: null.',
      }),
    ),
    format: t.Optional(
      t.UnionEnum(['json', 'csv'], {
        description: 'json (the default) or csv: the same rows flat (chat_duration_p50, …) for a spreadsheet. The same as sending Accept: text/csv.',
      }),
    ),
  },
  // Parameters the API does not define are ignored, as on the rows endpoint.
  { additionalProperties: true },
)
export type MetricsQuery = Static<typeof MetricsQuery>

/** The query parameters that must be decimal integers. */
export const METRICS_INTEGER_PARAMETERS = ['account_id', 'since', 'until'] as const

/** What each parameter must be, worded for a 422 body. */
export const METRICS_PARAMETER_RULES: Record<keyof MetricsQuery, string> = {
  account_id: PARAMETER_RULES.account_id,
  since: PARAMETER_RULES.since,
  until: PARAMETER_RULES.until,
  time_zone: TIME_ZONE_RULE,
  group_by: GROUP_BY_RULE,
  format: 'format must be json or csv',
}

const nullable = <T extends TSchema>(schema: T, description?: string) => Type.Union([schema, Type.Null()], description ? { description } : {})

const seconds = (what: string) => nullable(Type.Number(), `${what} in seconds, rounded half away from zero to 3 decimals; null when count is 0.`)

export const Stats = Type.Object(
  {
    count: Type.Integer({ minimum: 0, description: 'How many conversations of the group have a value.', examples: [118] }),
    mean: seconds('The mean'),
    p50: seconds('The median (PostgreSQL\'s percentile_cont(0.5): linear interpolation)'),
    p90: seconds('The 90th percentile (percentile_cont(0.9))'),
    p95: seconds('The 95th percentile (percentile_cont(0.95))'),
    max: nullable(Type.Integer(), 'The largest value in seconds; null when count is 0.'),
  },
  { description: 'Statistics of whole seconds over the group\'s conversations that have a value (negative values, as stored, included).' },
)
export type Stats = Static<typeof Stats>

export const MetricsRow = Type.Object(
  {
    period_start: Type.Optional(
      Type.String({
        format: 'date-time',
        pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$',
        description: 'With a period in group_by: the local start of the period, with the offset in force then (+00:00 for UTC, never Z).',
        examples: ['2026-03-29T00:00:00+01:00'],
      }),
    ),
    account_id: Type.Optional(Type.Integer({ description: 'With account in group_by.', examples: [3] })),
    assignee_id: Type.Optional(nullable(Type.Integer(), 'With assignee in group_by: the assignee the rows endpoint shows; null for unassigned conversations (and an assignee_id that points at no user).')),
    assignee_name: Type.Optional(nullable(Type.String(), 'With assignee in group_by: the assignee\'s name as the rows endpoint shows it; null with assignee_id null.')),
    status: Type.Optional(
      t.UnionEnum([...STATUS_WORDS, UNKNOWN_STATUS], { description: `With status in group_by: open, resolved, pending, snoozed (${UNKNOWN_STATUS}: any code the platform does not define).` }),
    ),
    label: Type.Optional(nullable(Type.String(), 'With label in group_by: a label name; null for the conversations without labels.')),
    conversations: Type.Integer({ minimum: 0, description: 'Conversations in the group.', examples: [240] }),
    resolved: Type.Integer({ minimum: 0, description: 'Of them resolved (status code 1).' }),
    open: Type.Integer({ minimum: 0, description: 'Of them open (0).' }),
    pending: Type.Integer({ minimum: 0, description: 'Of them pending (2).' }),
    snoozed: Type.Integer({ minimum: 0, description: 'Of them snoozed (3).' }),
    chat_duration: CloneType(Stats, { description: 'chat_duration as the rows endpoint computes it (resolved_time − (reopen_time || created_at)), over the conversations where it is not null.' }),
    first_response: nullable(
      CloneType(Stats),
      'first_reply_created_at − created_at, in whole seconds, over the conversations where first_reply_created_at is set. ' +
        'Null (not a count of 0) when the database has no conversations.first_reply_created_at column (GET /ready says so).',
    ),
  },
  { description: 'One group: the keys asked for (period_start, account_id, assignee_id and assignee_name, status, label), then its counts and statistics.' },
)
export type MetricsRow = Static<typeof MetricsRow>

export const MetricsPage = Type.Object({
  meta: Type.Object({
    since: Type.Integer({ description: 'The resolved since (Unix seconds): as given, or the rows endpoint\'s default.', examples: [1767225600] }),
    until: Type.Integer({ description: 'The resolved until (Unix seconds, inclusive).', examples: [1769903999] }),
    time_zone: Type.String({ description: 'The time zone of the periods, as Temporal spells it.', examples: ['Europe/Berlin'] }),
    group_by: Type.Array(t.UnionEnum(GROUP_KEYS as readonly [GroupKey, ...GroupKey[]]), { description: 'The keys, in the order asked.', examples: [['day', 'account']] }),
    items_count: Type.Integer({ minimum: 0, maximum: MAX_ROWS, description: `The number of rows in payload (at most ${MAX_ROWS}).`, examples: [2] }),
  }),
  payload: Type.Array(MetricsRow),
})
export type MetricsPage = Static<typeof MetricsPage>

const stats = (count: number, mean: number, p50: number, p90: number, p95: number, max: number): Stats => ({ count, mean, p50, p90, p95, max })

/** The example the OpenAPI document shows (checked against the schema by a spec). */
export const METRICS_EXAMPLE: MetricsPage = {
  meta: { since: 1774738800, until: 1774907999, time_zone: 'Europe/Berlin', group_by: ['day', 'account'], items_count: 2 },
  payload: [
    {
      period_start: '2026-03-29T00:00:00+01:00',
      account_id: 3,
      conversations: 240,
      resolved: 130,
      open: 60,
      pending: 30,
      snoozed: 20,
      chat_duration: stats(118, 5123.458, 2890, 14402.3, 23100.55, 172800),
      first_response: stats(201, 412.5, 180, 1210.2, 2400.75, 9000),
    },
    {
      period_start: '2026-03-30T00:00:00+02:00',
      account_id: 3,
      conversations: 0,
      resolved: 0,
      open: 0,
      pending: 0,
      snoozed: 0,
      chat_duration: { count: 0, mean: null, p50: null, p90: null, p95: null, max: null },
      first_response: { count: 0, mean: null, p50: null, p90: null, p95: null, max: null },
    },
  ],
}
