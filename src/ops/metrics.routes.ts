// GET /metrics: the service's Prometheus metrics in the text exposition format, for a scraper.
// It says nothing of the data and takes no token: expose it to the scraper, not the world.
import { Elysia } from 'elysia'
import type { ResponseDocs } from '../docs/openapi.ts'
import { EVERY_ANSWER } from '../docs/response-headers.ts'
import { UNUSABLE_REQUEST_RESPONSE } from './request-target.ts'
import type { Metrics } from './metrics.ts'

export const METRICS_RESPONSES: ResponseDocs = {
  200: {
    description: 'Prometheus text format: kpi_http_requests_total{status}, kpi_http_request_duration_seconds, kpi_cache_lookups_total{cache,result}, kpi_db_pool_connections{state}.',
    headers: EVERY_ANSWER,
    otherContent: {
      'text/plain': {
        schema: { type: 'string' },
        example: '# HELP kpi_http_requests_total Requests answered, by status.\n# TYPE kpi_http_requests_total counter\nkpi_http_requests_total{status="200"} 42\n',
      },
    },
  },
  400: UNUSABLE_REQUEST_RESPONSE,
}

export function metricsRoutes(metrics: Metrics) {
  return new Elysia({ name: 'ops.metrics' }).get(
    '/metrics',
    () => new Response(metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }),
    {
      detail: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description: 'Requests by status, latency, cache lookups and database pool use, in the Prometheus text format. No token.',
        tags: ['Operations'],
        security: [],
      },
    },
  )
}
