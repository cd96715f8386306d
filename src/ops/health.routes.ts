// Health endpoints an orchestrator understands: /health says the process answers (liveness),
// /ready says the database answers too (readiness): 503 while it does not.
import { CloneType, Type } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import type { Connection } from '../db/dialect.ts'
import type { ResponseDocs } from '../docs/openapi.ts'
import { EVERY_ANSWER } from '../docs/response-headers.ts'
import { DatabaseMisconfiguredError, ServiceUnavailableError } from '../errors.ts'
import { ErrorBody } from '../kpi/conversations.model.ts'
import { ping } from '../kpi/conversations.repository.ts'
import { FIRST_REPLY_COLUMN, hasFirstReplyColumn } from '../kpi/metrics.repository.ts'
import { UNUSABLE_REQUEST_RESPONSE } from './request-target.ts'
import type { SharedState } from '../state/shared-state.ts'

export const HealthBody = Type.Object({ status: Type.Literal('ok') }, { description: 'The process answers.' })
export const ReadyBody = Type.Object(
  {
    status: Type.Literal('ready'),
    shared_state: Type.String({
      description: 'What holds the state instances share: memory (one instance), redis, or "memory (redis unavailable)" while Redis is away (the service still answers).',
    }),
    detail: Type.Optional(
      Type.Array(Type.String(), {
        description: 'What works in part, when something does: e.g. that the database has no conversations.first_reply_created_at, so the metrics\' first_response is null.',
      }),
    ),
    database_pool: Type.Optional(
      Type.Literal('saturated', {
        description:
          'Present while every database connection is working and requests wait for one: load, not an outage (the database answers). ' +
          'Pages past the wait are 503 "busy"; kpi_db_pool_saturation_total counts them.',
      }),
    ),
  },
  { description: 'The process and its database answer.' },
)

/** The operational answers, for the OpenAPI document. */
export const HEALTH_RESPONSES: ResponseDocs = {
  200: { description: 'The process answers (liveness).', example: { status: 'ok' }, headers: EVERY_ANSWER },
  400: UNUSABLE_REQUEST_RESPONSE,
}
export const READY_RESPONSES: ResponseDocs = {
  200: { description: 'The database answers too (readiness).', example: { status: 'ready', shared_state: 'redis' }, headers: EVERY_ANSWER },
  400: UNUSABLE_REQUEST_RESPONSE,
  503: {
    description:
      'The database does not answer: take the instance out of rotation (do not restart it); with Retry-After. Without Retry-After, ' +
      'the database refuses the connection for good (credentials, a pooler rejecting a startup parameter): fix the configuration.',
    example: { error: 'The database is not reachable' },
    headers: [...EVERY_ANSWER, 'Retry-After'],
  },
}

const operational = (operationId: string, summary: string, description: string) => ({ operationId, summary, description, tags: ['Operations'], security: [] })

export function healthRoutes(connection: Connection, state: SharedState) {
  return new Elysia({ name: 'ops.health' })
    .get('/health', () => ({ status: 'ok' as const }), {
      // Copies: Elysia adjusts the schemas it compiles, and the exported ones feed the document.
      response: { 200: CloneType(HealthBody) },
      detail: operational('getHealth', 'Liveness: the process answers', '200 while the process answers, whatever the database does. No token.'),
    })
    .get(
      '/ready',
      async () => {
        const ready = { status: 'ready' as const, shared_state: state.describe().backend }
        // Every connection working and requests waiting: the ping would wait in line with them and
        // say "not reachable" of a database that answers. Saturation is said as such.
        if (connection.poolStats?.().saturated) return { ...ready, database_pool: 'saturated' as const }
        try {
          await ping(connection)
        } catch (error) {
          if (connection.dialect.isSaturated(error)) return { ...ready, database_pool: 'saturated' as const }
          // A refusal for good (credentials, a pooler's rejected startup parameter) says so; anything
          // else the database said is "not ready, retry", never a defect of ours.
          if (connection.dialect.isMisconfigured(error)) throw new DatabaseMisconfiguredError({ cause: error })
          throw new ServiceUnavailableError('The database is not reachable', { cause: error })
        }
        const detail = (await hasFirstReplyColumn(connection))
          ? []
          : [`conversations.${FIRST_REPLY_COLUMN} does not exist in this database: the metrics' first_response is null`]
        return { ...ready, ...(detail.length > 0 ? { detail } : {}) }
      },
      {
        response: { 200: CloneType(ReadyBody), 503: CloneType(ErrorBody) },
        detail: operational(
          'getReadiness',
          'Readiness: the process and its database answer',
          '200 when the database answers a ping, 503 when it does not: take the instance out of rotation, do not restart it. No token.',
        ),
      },
    )
}
