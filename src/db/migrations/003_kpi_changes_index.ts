// The index of the changes feed: conversations by (account_id, updated_at, id), its filter and
// order, so a feed page is an index range scan. On a production database create it by hand,
// CONCURRENTLY (docs/changes-feed.md, "Its index").
import { sql, type Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import type { Dialect } from '../dialect.ts'

export const CHANGES_INDEX_NAME = 'index_conversations_on_account_id_updated_at_id'

export function kpiChangesIndex(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create index ${sql.id(CHANGES_INDEX_NAME)} on conversations (account_id, ${dialect.createdAt('updated_at')}, id)`.execute(db)
    },
  }
}
