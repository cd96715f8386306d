// Health endpoints an orchestrator understands: /health says the process answers (liveness),
// /ready says the database answers too (readiness): 503 while it does not.
import { Elysia } from 'elysia'
import type { Connection } from '../db/dialect.ts'
import { ServiceUnavailableError } from '../errors.ts'
import { ping } from '../kpi/conversations.repository.ts'

export function healthRoutes(connection: Connection) {
  return new Elysia({ name: 'ops.health' })
    .get('/health', () => ({ status: 'ok' }), { detail: { hide: true } })
    .get(
      '/ready',
      async () => {
        try {
          await ping(connection)
        } catch (error) {
          // Whatever the database said, the answer is "not ready", not a defect of ours.
          throw new ServiceUnavailableError('The database is not reachable', { cause: error })
        }
        return { status: 'ready' }
      },
      { detail: { hide: true } },
    )
}
