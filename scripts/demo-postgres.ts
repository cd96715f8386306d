// A throwaway PostgreSQL holding the demo data set, for the fault and soak scripts.
import { openDatabase } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { demoDataSet, type DemoDataSet } from '../fixtures/demo-data-set.ts'
import { insertDataSet } from '../fixtures/insert.ts'
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres.ts'

export async function startDemoPostgres(conversations: number): Promise<{ server: ThrowawayPostgres; data: DemoDataSet }> {
  const server = await startThrowawayPostgres()
  try {
    const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 }, { readonly: false })
    const data = demoDataSet({ conversations })
    try {
      await migrateToLatest(writer)
      await insertDataSet(writer, data)
    } finally {
      await writer.destroy()
    }
    return { server, data }
  } catch (error) {
    await server.stop()
    throw error
  }
}
