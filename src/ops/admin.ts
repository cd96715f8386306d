// The operators' listener (ADMIN_HOST:ADMIN_PORT, loopback by default): the Prometheus metrics, and
// /health and /ready as the API's port has them. The API's port does not serve /metrics at all:
// Bun collapses dot segments (`/api/%2e%2e/metrics`, `/api/.%2e/metrics`, `/api\..\metrics`) in
// request.url before any handler sees the request line, so neither the service nor a path rule of
// a proxy in front could tell such a request from `/metrics`. On a listener of their own, no
// spelling of a path on the API's port reaches them.
import { Elysia } from 'elysia'
import type { Connection } from '../db/dialect.ts'
import { ApiError, NotFoundError } from '../errors.ts'
import type { SharedState } from '../state/shared-state.ts'
import { healthRoutes } from './health.routes.ts'
import type { Metrics } from './metrics.ts'
import { metricsRoutes } from './metrics.routes.ts'
import { readdressed, requestTarget } from './request-target.ts'

export interface AdminDeps {
  readonly connection: Connection
  readonly state: SharedState
  /** The same Metrics the API's handler counts into and its parts report through. */
  readonly metrics: Metrics
  /** Where a defect is reported (never with a token; none reaches this listener). */
  readonly logError: (message: string, error: unknown) => void
}

const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json', 'x-content-type-options': 'nosniff' } })

/** The admin listener's app: /metrics, /health, /ready; every other path 404, errors as {"error"}. */
export function createAdminApp({ connection, state, metrics, logError }: AdminDeps) {
  return new Elysia({ normalize: false })
    .onError(({ code, error, request }) => {
      const known = error instanceof ApiError ? error : code === 'NOT_FOUND' ? new NotFoundError() : undefined
      if (known) return json(known.status, known.toBody(), known.headers)
      logError(`unhandled error on the admin listener: ${request.method} ${new URL(request.url).pathname}`, error)
      return json(500, { error: 'Internal server error' })
    })
    .use(healthRoutes(connection, state))
    .use(metricsRoutes(metrics))
}

export type AdminApp = ReturnType<typeof createAdminApp>

/** Bun.serve's handler for the admin listener: routed by the request line's path, as the API's is (src/ops/request-target.ts). */
export function createAdminHandler(app: Pick<AdminApp, 'handle'>) {
  return async function handle(request: Request): Promise<Response> {
    const target = requestTarget(request)
    if (!target.ok) return json(400, { error: `Bad request: ${target.problem}` })
    const response = await app.handle(readdressed(request, target.url))
    response.headers.set('x-content-type-options', 'nosniff')
    return response
  }
}
