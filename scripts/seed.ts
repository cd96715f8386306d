// `bun scripts/seed.ts [--conversations N] [--seed S]`: fills the database of DATABASE_URL with a
// realistic demo data set of N conversations (default 10000) and prints the demo token. Only writes
// to a database created by scripts/migrate.ts, and only to an empty one.
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { describeDatabase, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { DEMO_TOKEN, demoDataSet } from '../fixtures/demo-data-set.ts'
import { insertDataSet } from '../fixtures/insert.ts'

const { values } = parseArgs({
  options: { conversations: { type: 'string', default: '10000' }, seed: { type: 'string', default: '42' }, migrate: { type: 'boolean', default: false } },
})
const conversations = Number(values.conversations)
if (!Number.isInteger(conversations) || conversations < 1) throw new Error('--conversations must be a positive integer')

const config = loadConfig(process.env)
const connection = openDatabase(config.database, { readonly: false })
try {
  if (values.migrate) await migrateToLatest(connection)
  // A guard for the one mistake that matters: seeding a real helpdesk database.
  const migrated = await sql`select 1 from kysely_migration limit 1`.execute(connection.db).then(() => true, () => false)
  if (!migrated) throw new Error(`${describeDatabase(config.database)} was not created by scripts/migrate.ts: refusing to write to it (--migrate creates the tables first)`)
  const existing = await connection.db.selectFrom('conversations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  if (Number(existing.n) > 0) throw new Error(`${describeDatabase(config.database)} already has conversations: refusing to seed it again`)

  const started = performance.now()
  await insertDataSet(connection, demoDataSet({ conversations, seed: Number(values.seed) }))
  console.log(`seeded ${describeDatabase(config.database)} with ${conversations} conversations in ${Math.round(performance.now() - started)} ms`)
  console.log(`demo token (the KPI tracker's): ${DEMO_TOKEN}`)
} finally {
  await connection.destroy()
}
