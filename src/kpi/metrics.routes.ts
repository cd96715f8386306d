// The Elysia plugin that declares GET /api/v1/kpi/conversations/metrics: counts and duration
// statistics by period and dimension, with the rows endpoint's token, allowlist, errors and order
// of checks (token, then parameters, then allowlist).
import { CloneType } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { ResponseDocs } from '../docs/openapi.ts'
import { EVERY_API_ANSWER } from '../docs/response-headers.ts'
import { API_TOKEN_SECURITY } from '../docs/swagger.ts'
import { MethodNotAllowedError } from '../errors.ts'
import { factsOf } from '../ops/request-facts.ts'
import { exportFilename, exportFormatOf, exportHeaders } from './conversations.export.ts'
import { ErrorBody } from './conversations.model.ts'
import { allowlistReadBy, authenticateRequest, CONVERSATIONS_PATH, CONVERSATIONS_RESPONSES } from './conversations.routes.ts'
import type { KpiDeps } from './conversations.service.ts'
import { METRICS_EXAMPLE, METRICS_INTEGER_PARAMETERS, METRICS_PARAMETER_RULES, MetricsPage, MetricsQuery } from './metrics.model.ts'
import { metricsCsv, metricsCsvColumns } from './metrics.csv.ts'
import { MAX_ROWS, parseGroupBy } from './metrics.rules.ts'
import { readMetrics } from './metrics.service.ts'
import { validateQueryText } from './query-text.ts'

export const CONVERSATION_METRICS_PATH = `${CONVERSATIONS_PATH}/metrics`

const QUERY_RULES = { schema: MetricsQuery, rules: METRICS_PARAMETER_RULES, integers: METRICS_INTEGER_PARAMETERS } as const

/** The answers: those of the rows endpoint (401, 429, 503, …), with the metrics' own 200 and 422. */
export const CONVERSATION_METRICS_RESPONSES: ResponseDocs = {
  ...CONVERSATIONS_RESPONSES,
  200: {
    description:
      'The rows, ordered by the group_by keys as asked; with format=csv (or Accept: text/csv) the same rows flat. Both carry a strong ETag ' +
      'and Cache-Control: private, no-store; CSV a Content-Disposition. A generated client that wants the JSON alone asks for application/json.',
    example: METRICS_EXAMPLE,
    headers: [...EVERY_API_ANSWER, 'ETag', 'Cache-Control', 'Content-Disposition'],
    otherContent: {
      'text/csv': {
        schema: {
          type: 'string',
          description:
            'RFC 4180, UTF-8 with a BOM, CRLF. A header row: the asked keys among period_start, account_id, assignee_id, assignee_name, status, label; ' +
            `then ${metricsCsvColumns(parseGroupBy('')).join(',')}. Nulls are empty.`,
        },
        example: `${metricsCsvColumns(parseGroupBy('day,account')).join(',')}\r\n2026-03-29T00:00:00+01:00,3,240,130,60,30,20,118,5123.458,2890,14402.3,23100.55,172800,201,412.5,180,1210.2,2400.75,9000\r\n`,
      },
    },
  },
  422: {
    description:
      `A parameter the API does not take (since or until not an integer Unix timestamp, an unknown time_zone or a bare offset, an unknown or repeated group_by key, two periods), ` +
      `or an answer of more than ${MAX_ROWS.toLocaleString('en')} rows: narrow the range or take a coarser period.`,
    example: { error: METRICS_PARAMETER_RULES.time_zone },
    headers: EVERY_API_ANSWER,
  },
}

export function conversationMetricsRoutes(deps: KpiDeps) {
  return new Elysia({ name: 'kpi.metrics' })
    .all(
      CONVERSATION_METRICS_PATH,
      () => {
        throw new MethodNotAllowedError(['GET', 'HEAD'])
      },
      { detail: { hide: true } },
    )
    .get(
      CONVERSATION_METRICS_PATH,
      async ({ query, request }) => {
        const page = await readMetrics(deps, query, new Set(new URL(request.url).searchParams.keys()), allowlistReadBy(request))
        factsOf(request).items = page.payload.length
        return page
      },
      {
        query: CloneType(MetricsQuery),
        // The token first, then the parameters: a caller without a valid token learns nothing.
        async transform({ request }) {
          await authenticateRequest(deps, request)
          validateQueryText(new URL(request.url).searchParams, QUERY_RULES)
        },
        // format=csv or Accept: text/csv: the same rows flat, whole (at most MAX_ROWS of them), with an ETag like the JSON.
        async beforeHandle({ query, request }) {
          const params = new URL(request.url).searchParams
          if (exportFormatOf(params.get('format') ?? undefined, request.headers.get('accept'), ['csv']) !== 'csv') return
          const page = await readMetrics(deps, query, new Set(params.keys()), allowlistReadBy(request))
          factsOf(request).items = page.payload.length
          const filename = exportFilename('csv', page.meta.since, page.meta.until, 'kpi-conversation-metrics')
          // Elysia types this hook's answer by the route's JSON schemas; a Response is sent as it is.
          return new Response(metricsCsv(parseGroupBy(query.group_by), page), { headers: exportHeaders('csv', filename) }) as unknown as void
        },
        response: {
          200: CloneType(MetricsPage),
          401: CloneType(ErrorBody),
          422: CloneType(ErrorBody),
          429: CloneType(ErrorBody),
          503: CloneType(ErrorBody),
        },
        detail: {
          summary: 'KPI metrics: conversation counts and duration percentiles by period and dimension',
          description: [
            'Counts by status and statistics (count, mean, p50, p90, p95, max) of chat_duration and first response time, over exactly the',
            'conversations the rows endpoint returns for the same since, until and account_id, grouped by local calendar periods of an IANA',
            'time zone (a daylight-saving day is 23 or 25 hours) and by account, assignee, status or label. Percentiles are PostgreSQL\'s',
            `percentile_cont; every period of the range is present (zeros where nothing happened). At most ${MAX_ROWS.toLocaleString('en')} rows.`,
            '',
            'Example: per day and account in Berlin time, `?since=1774738800&until=1774907999&time_zone=Europe/Berlin&group_by=day,account`.',
          ].join('\n'),
          operationId: 'getConversationMetrics',
          tags: ['KPI'],
          security: API_TOKEN_SECURITY,
        },
      },
    )
}
