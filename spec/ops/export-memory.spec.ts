// A CSV export of 200,000 conversations on PostgreSQL: every row arrives, and memory stays flat
// while it streams (rows are read in batches as the client reads, never held whole). Measured twice:
// the live heap after a full collection, in process (exact: what the export keeps grows or not),
// and the resident memory of the service as a separate process (what an operator sees; the
// allocator keeps freed pages for a while, so it is a band, not a line).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { createApp } from '../../src/app.ts'
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
  let url = ''
  beforeAll(async () => {
    server = await startThrowawayPostgres({ settings: { autovacuum: 'off' } })
    const writer = openDatabase({ dialect: 'postgres', url: server.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 }, { readonly: false })
    await migrateToLatest(writer)
    // Every account a VBET account: all 200,000 rows are in the export.
    await seedBenchmark(writer.db, { conversations: ROWS, accounts: 10, vbetAccounts: 10, days: 90, anchor: new Date() })
    await sql`vacuum (freeze, analyze)`.execute(writer.db)
    await writer.destroy()
    url = server.url
    service = await startService({ DATABASE_URL: server.url, RATE_LIMIT_PER_MINUTE: '0' })
  }, 120_000)
  afterAll(async () => {
    await service?.stop()
    await server?.stop()
  })

  test('in process: every row arrives, and the live heap after each 20,000 rows stays the same', async () => {
    const connection = openDatabase({ dialect: 'postgres', url, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 }, { readonly: true })
    try {
      const app = createApp({ connection, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com' } })
      const response = await app.handle(new Request('http://localhost/api/v1/kpi/conversations?format=csv&since=0', { headers: { api_access_token: DEMO_TOKEN } }))
      const reader = response.body!.getReader()
      let lines = 0
      let next = ROWS / 10
      const heap: number[] = []
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        for (const byte of chunk.value) if (byte === 10) lines++
        if (lines >= next) {
          Bun.gc(true)
          heap.push(process.memoryUsage().heapUsed / 2 ** 20)
          next += ROWS / 10
        }
      }
      expect(lines).toBe(ROWS + 1) // the header and every row
      console.log(`export of ${ROWS} rows in process: live heap ${heap.map((mb) => mb.toFixed(1)).join(' ')} MB`)
      // Held whole, 200,000 rows would be hundreds of MB; streamed, the heap does not grow with them.
      expect(Math.max(...heap) - heap[0]!).toBeLessThan(8)
    } finally {
      await connection.destroy()
    }
  }, 120_000)

  test('as a service: every row arrives, and resident memory stays under a ceiling over 400,000 rows', async () => {
    const samples: number[] = []
    for (let round = 0; round < 2; round++) {
      const response = await fetch(`${service.url}/api/v1/kpi/conversations?format=csv&since=0`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(response.status).toBe(200)
      const reader = response.body!.getReader()
      let lines = 0
      let next = ROWS / 10
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        for (const byte of chunk.value) if (byte === 10) lines++
        if (lines >= next) {
          samples.push(rssMegabytes(service.pid))
          next += ROWS / 10
        }
      }
      expect(lines).toBe(ROWS + 1)
    }
    console.log(`two exports of ${ROWS} rows as a service: resident ${samples.map((mb) => mb.toFixed(0)).join(' ')} MB`)
    // A ceiling that 400,000 rows streamed do not reach (seen here: a 140-225 MB band, falling back
    // after collections); the in-process spec above is the exact proof that nothing accumulates.
    expect(Math.max(...samples)).toBeLessThan(300)
  }, 120_000)
})
