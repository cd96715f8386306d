// The demo database: the embedded SQLite file, created and seeded on first start.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import type { DatabaseConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { demoDataSet } from '../fixtures/demo-data-set.ts'
import { insertDataSet } from '../fixtures/insert.ts'
import { installCapture } from '../src/sync/capture.ts'

export const DEMO_CONVERSATIONS = 2000

/** Creates and seeds the SQLite file if it does not exist yet; returns whether it did. */
export async function ensureDemoDatabase(database: DatabaseConfig & { dialect: 'sqlite' }): Promise<boolean> {
  if (existsSync(database.filename)) return false
  mkdirSync(dirname(database.filename), { recursive: true })
  const temporary = `${database.filename}.creating`
  rmSync(temporary, { force: true })
  const connection = openDatabase({ ...database, filename: temporary }, { readonly: false })
  try {
    await migrateToLatest(connection)
    await insertDataSet(connection, demoDataSet({ conversations: DEMO_CONVERSATIONS }))
    // The change capture, as an operator installs it: the demo's changes feed is exact (deletions included).
    await installCapture(connection, { retentionDays: 30 })
  } finally {
    await connection.destroy()
  }
  // Renamed into place only when complete: an interrupted first start leaves no half-seeded demo.
  renameSync(temporary, database.filename)
  return true
}
