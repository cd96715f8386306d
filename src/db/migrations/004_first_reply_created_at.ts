// conversations.first_reply_created_at, as the production platform has it (timestamp without time
// zone, nullable, UTC): when an agent first replied. The metrics' first_response reads it; a
// helpdesk database without it still works (first_response is then null, and /ready says why).
import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import type { Dialect } from '../dialect.ts'

export function firstReplyCreatedAt(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('conversations').addColumn('first_reply_created_at', dialect.types.timestamp).execute()
    },
  }
}
