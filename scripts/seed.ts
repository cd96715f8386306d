// `bun scripts/seed.ts [--conversations N] [--seed S] [--migrate]`: fills the database of
// DATABASE_URL with a realistic demo data set of N conversations (default 10000) and prints the
// demo token. Only writes to a database created by scripts/migrate.ts, and only to an empty one:
// anything else is refused in one line, exit 1. On a terminal it shows its progress (scripts/progress.ts).
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { describeDatabase, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { ConfigError } from '../src/errors.ts'
import { DEMO_TOKEN, demoDataSet } from '../fixtures/demo-data-set.ts'
import { insertDataSet } from '../fixtures/insert.ts'
import { progress, type Progress } from './progress.ts'

/** A reason not to seed that the person running the script can act on: said in one line, no stack. */
class Refusal extends Error {}

async function seed(): Promise<void> {
  let values
  try {
    values = parseArgs({
      options: { conversations: { type: 'string', default: '10000' }, seed: { type: 'string', default: '42' }, migrate: { type: 'boolean', default: false } },
    }).values
  } catch (error) {
    throw new Refusal((error as Error).message)
  }
  const conversations = Number(values.conversations)
  if (!Number.isInteger(conversations) || conversations < 1) throw new Refusal('--conversations must be a positive integer')

  let config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) throw new Refusal(error.message)
    throw error
  }
  const connection = openDatabase(config.database, { readonly: false })
  try {
    if (values.migrate) await migrateToLatest(connection)
    // A guard for the one mistake that matters: seeding a real helpdesk database.
    const migrated = await sql`select 1 from kysely_migration limit 1`.execute(connection.db).then(() => true, () => false)
    if (!migrated) throw new Refusal(`${describeDatabase(config.database)} was not created by scripts/migrate.ts: refusing to write to it (--migrate creates the tables first)`)
    const existing = await connection.db.selectFrom('conversations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    if (Number(existing.n) > 0) throw new Refusal(`${describeDatabase(config.database)} already has conversations: refusing to seed it again`)

    const started = performance.now()
    const making = progress(`making ${conversations.toLocaleString('en-US')} conversations`, conversations)
    const dataSet = demoDataSet({ conversations, seed: Number(values.seed), onProgress: (done) => making.update(done) })
    making.end()
    let inserting: Progress | undefined
    await insertDataSet(connection, dataSet, (done, total) => (inserting ??= progress('inserting rows', total)).update(done))
    inserting?.end()
    console.log(`seeded ${describeDatabase(config.database)} with ${conversations} conversations in ${Math.round(performance.now() - started)} ms`)
    console.log(`demo token (the KPI tracker's): ${DEMO_TOKEN}`)
  } finally {
    await connection.destroy()
  }
}

try {
  await seed()
} catch (error) {
  if (!(error instanceof Refusal)) throw error
  console.error(`seed: ${error.message}`)
  process.exit(1)
}
