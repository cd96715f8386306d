// A CSV export of 200,000 conversations from the service as a separate process on PostgreSQL:
// every row arrives, and the service's resident memory stays flat while it streams (rows are read
// in batches as the client reads, never held whole).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { openDatabase } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { findPostgresBin, startThrowawayPostgres, type ThrowawayPostgres } from '../../scripts/postgres.ts'
import { seedBenchmark } from '../../scripts/bench-seed.ts'
import { rssMegabytes } from '../../scripts/load.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'

const ROWS = 200_000
const runnable = !REMOTE_BASE_URL && findPostgresBin() !== undefined
if (!runnable && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the export memory spec: PostgreSQL server binaries are missing')
  console.warn('*** export memory spec skipped: no PostgreSQL server binaries (apt-get install -y postgresql)')
}

describe.skipIf(!runnable)('a streamed export of 200,000 conversations', () => {
  let server: ThrowawayPostgres
  let service: ServiceProcess
  beforeAll(async () => {
    server = await startThrowawayPostgres({ settings: { autovacuum: 'off' } })
    const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 }, { readonly: false })
    await migrateToLatest(writer)
    // Every account a VBET account: all 200,000 rows are in the export.
    await seedBenchmark(writer.db, { conversations: ROWS, accounts: 10, vbetAccounts: 10, days: 90, anchor: new Date() })
    await sql`vacuum (freeze, analyze)`.execute(writer.db)
    await writer.destroy()
    service = await startService({ DATABASE_URL: server.url, RATE_LIMIT_PER_MINUTE: '0' })
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    await server?.stop()
  })

  test('every row arrives, and the service\'s memory stays flat', async () => {
    const response = await fetch(`${service.url}/api/v1/kpi/conversations?format=csv&since=0`, { headers: { api_access_token: DEMO_TOKEN } })
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    let lines = 0
    const samples: Array<{ lines: number; mb: number }> = []
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      for (const byte of chunk.value) if (byte === 10) lines++
      if (samples.length === 0 || lines - samples.at(-1)!.lines >= 10_000) samples.push({ lines, mb: rssMegabytes(service.pid) })
    }
    expect(lines).toBe(ROWS + 1) // the header and every row
    // From the first tenth of the rows on, the resident memory may wander, not climb with the rows.
    const settled = samples.filter((sample) => sample.lines >= ROWS / 10)
    const low = Math.min(...settled.map((s) => s.mb))
    const high = Math.max(...settled.map((s) => s.mb))
    console.log(`export of ${ROWS} rows: resident memory ${low.toFixed(1)}–${high.toFixed(1)} MB after the first ${ROWS / 10}`)
    expect(high - low).toBeLessThan(30)
    const [first, last] = [settled[0]!.mb, settled.at(-1)!.mb]
    expect(last).toBeLessThan(first * 1.1 + 5)
  }, 120_000)
})
