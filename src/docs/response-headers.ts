// The response headers the service sends, described once for the OpenAPI document; responses
// reference them by name. Which answer carries which is said where each operation is declared.

const text = { type: 'string' } as const
const seconds = { type: 'integer', minimum: 0 } as const

export const RESPONSE_HEADERS = {
  'X-Request-Id': { description: 'The request\'s id: the client\'s X-Request-Id when it is a plain token of up to 128 characters, else a new UUID. Logged with the request.', schema: text },
  'X-Content-Type-Options': { description: 'Always nosniff.', schema: { type: 'string', enum: ['nosniff'] } },
  'RateLimit-Limit': { description: 'API requests a minute allowed for this token (or address, or failed authentications from it).', schema: seconds },
  'RateLimit-Remaining': { description: 'Requests left in the current one-minute window.', schema: seconds },
  'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: seconds },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: seconds },
  ETag: { description: 'A strong ETag of this answer (a JSON page, the metrics in JSON or CSV); send it back in If-None-Match to get 304 while it is unchanged.', schema: text },
  'Cache-Control': { description: 'private, no-store: conversation data is kept by no cache; a re-polling client keeps the ETag itself.', schema: text },
  'Content-Disposition': {
    description:
      'Exports only (CSV, NDJSON): attachment; filename="kpi-conversations_<since>_<until>.<csv|ndjson>" (the metrics: kpi-conversation-metrics_<since>_<until>.csv), the range in UTC.',
    schema: text,
  },
  Allow: { description: 'With 405: the methods the path takes.', schema: text },
  'X-Next-Cursor': { description: 'Exports of the changes feed only: the cursor that continues the feed right after this export (everything from its end_time on).', schema: text },
} as const

export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS

/** On every answer of the service. */
export const EVERY_ANSWER: readonly ResponseHeaderName[] = ['X-Request-Id', 'X-Content-Type-Options']

/** On every answer of the API (/api/…), which is rate limited. */
export const EVERY_API_ANSWER: readonly ResponseHeaderName[] = [...EVERY_ANSWER, 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']
