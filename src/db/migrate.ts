// Creates the development/test schema. Never called by the service itself: only by scripts/migrate.ts,
// the demo's first start (on the embedded SQLite file) and the specs.
import { Migrator, type Migration } from 'kysely/migration'
import type { Connection } from './dialect.ts'
import { chatwootTables } from './migrations/001_chatwoot_tables.ts'
import { kpiConversationsIndex } from './migrations/002_kpi_conversations_index.ts'
import { kpiChangesIndex } from './migrations/003_kpi_changes_index.ts'
import { firstReplyCreatedAt } from './migrations/004_first_reply_created_at.ts'

/**
 * Brings the schema up to date.
 * @throws when a migration fails (the error names it).
 */
export async function migrateToLatest({ db, dialect }: Connection): Promise<void> {
  const migrations: Record<string, Migration> = {
    '001_chatwoot_tables': chatwootTables(dialect),
    '002_kpi_conversations_index': kpiConversationsIndex(dialect),
    '003_kpi_changes_index': kpiChangesIndex(dialect),
    '004_first_reply_created_at': firstReplyCreatedAt(dialect),
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((result) => result.status === 'Error')
  if (error) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`, { cause: error })
}
