// Starts the service from a configuration: opens the database read-only, builds the app, listens,
// and stops gracefully (stop accepting, let in-flight requests finish, close the pool).
import { existsSync } from 'node:fs'
import { createApp } from './app.ts'
import { describeDatabase, type Config } from './config.ts'
import { openDatabase } from './db/dialect.ts'

export interface RunningService {
  readonly url: string
  stop(): Promise<void>
}

/**
 * @throws when the configured SQLite file does not exist (the service never creates a database).
 */
export async function startServer(config: Config): Promise<RunningService> {
  const { database } = config
  if (database.dialect === 'sqlite' && database.filename !== ':memory:' && !existsSync(database.filename)) {
    throw new Error(
      `SQLite database ${database.filename} does not exist. The service only reads; create one with ` +
        '`bun scripts/migrate.ts` and `bun scripts/seed.ts`, or run `npm start` with DATABASE_URL unset for the demo.',
    )
  }
  const connection = openDatabase(database, { readonly: true })
  const app = createApp({ connection, config }).listen({ hostname: config.host, port: config.port })
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${app.server!.port}`
  console.log(JSON.stringify({ level: 'info', message: 'listening', url, database: describeDatabase(database) }))

  let stopping: Promise<void> | undefined
  return {
    url,
    stop: () =>
      (stopping ??= (async () => {
        await app.stop() // stops accepting; waits for in-flight requests
        await connection.destroy()
      })()),
  }
}
