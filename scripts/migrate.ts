// `bun scripts/migrate.ts`: creates the helpdesk tables in the database of DATABASE_URL (SQLite file
// or a development PostgreSQL). For development and tests only: a production helpdesk database
// already has its tables, and the service never runs this.
import { describeDatabase, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'

const config = loadConfig(process.env)
const connection = openDatabase(config.database, { readonly: false })
try {
  await migrateToLatest(connection)
  console.log(`migrated ${describeDatabase(config.database)}`)
} finally {
  await connection.destroy()
}
