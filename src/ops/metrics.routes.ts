// GET /metrics: the service's Prometheus metrics in the text exposition format, for a scraper, on
// the admin listener only (src/ops/admin.ts). It says nothing of the data and takes no token: keep
// the admin listener on loopback, or expose it to the scraper, not the world.
import { Elysia } from 'elysia'
import type { Metrics } from './metrics.ts'

export function metricsRoutes(metrics: Metrics) {
  return new Elysia({ name: 'ops.metrics' }).get(
    '/metrics',
    () => new Response(metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }),
  )
}
