// The one index this service adds: conversations by (account_id, created_at, id), the endpoint's
// filter and sort order, so a page is an index range scan instead of a sort of the whole account.
// On a production database create it by hand, CONCURRENTLY (docs/deployment.md, "The index").
import { sql, type Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import type { Dialect } from '../dialect.ts'

export const KPI_INDEX_NAME = 'index_conversations_on_account_id_created_at_id'

export function kpiConversationsIndex(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create index ${sql.id(KPI_INDEX_NAME)} on conversations (account_id, ${dialect.createdAt('created_at')}, id)`.execute(db)
    },
  }
}
