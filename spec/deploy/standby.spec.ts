// The service reading a hot standby through PgBouncer in transaction mode with its default
// settings (deploy/pgbouncer.ini), all of them real: it connects, its sessions stay read-only and
// keep their statement timeout; without DB_POOL_MODE=transaction it reports a configuration
// problem instead of an outage; and queries the standby cancels for conflicts with recovery are
// retried: no 500, and an export still arrives whole.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'
import { insertDataSet } from '../../fixtures/insert.ts'
import { findPostgresBin, startThrowawayPostgres, type ThrowawayPostgres } from '../../scripts/postgres.ts'
import { startPgBouncer, startStandby, type PgBouncer, type Standby } from '../../scripts/topology.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'

const CONVERSATIONS = 6000
const pgbouncerBin = Bun.which('pgbouncer') ?? (Bun.file('/usr/sbin/pgbouncer').size > 0 ? '/usr/sbin/pgbouncer' : undefined)
const runnable = !REMOTE_BASE_URL && findPostgresBin() !== undefined && pgbouncerBin !== undefined
if (!runnable && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must run the standby spec: PostgreSQL or PgBouncer is missing (.ci/run installs them)')
  console.warn('*** standby spec skipped: needs PostgreSQL server binaries and pgbouncer (apt-get install -y postgresql pgbouncer)')
}

describe.skipIf(!runnable)('a hot standby through PgBouncer (transaction mode, default settings)', () => {
  let primary: ThrowawayPostgres
  let standby: Standby
  let bouncer: PgBouncer
  let service: ServiceProcess
  let total = 0

  beforeAll(async () => {
    primary = await startThrowawayPostgres({ settings: { full_page_writes: 'on', wal_level: 'replica' } })
    const writer = openDatabase({ dialect: 'postgres', url: primary.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 }, { readonly: false })
    await migrateToLatest(writer)
    await insertDataSet(writer, demoDataSet({ conversations: CONVERSATIONS }))
    await writer.destroy()
    standby = await startStandby(primary)
    bouncer = await startPgBouncer({ standby: standby.port, primary: primary.port })
    // The standby has replayed the seed when it sees every conversation.
    const reader = new pg.Client({ connectionString: standby.url })
    await reader.connect()
    for (let seen = 0; seen < CONVERSATIONS; await Bun.sleep(100)) seen = Number((await reader.query('select count(*) from conversations')).rows[0].count)
    await reader.end()
    service = await startService({
      DATABASE_URL: bouncer.url('kpi'),
      DB_POOL_MODE: 'transaction',
      CURSOR_SECRET: 's'.repeat(40),
      RATE_LIMIT_PER_MINUTE: '0',
    })
    const first = await fetch(`${service.url}/api/v1/kpi/conversations?page_size=1`, { headers: { api_access_token: DEMO_TOKEN } })
    total = ((await first.json()) as { meta: { items_count: number } }).meta.items_count
  }, 180_000)

  afterAll(async () => {
    await service?.stop()
    await bouncer?.stop()
    await standby?.stop()
    await primary?.stop()
  })

  test('with DB_POOL_MODE=transaction the service connects through it: ready, a page, a whole export', async () => {
    expect((await fetch(`${service.url}/ready`)).status).toBe(200)
    expect(total).toBeGreaterThan(CONVERSATIONS / 3)
    const csv = await (await fetch(`${service.url}/api/v1/kpi/conversations?format=csv`, { headers: { api_access_token: DEMO_TOKEN } })).text()
    expect(csv.split('\r\n').length).toBe(total + 2)
  })

  test('its sessions through PgBouncer stay read-only and keep the statement timeout (per transaction)', async () => {
    // Against the primary through the same pooler: what a promoted standby would be.
    const connection = openDatabase(
      { dialect: 'postgres', url: bouncer.url('kpi_primary'), poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 300, poolMode: 'transaction' },
      { readonly: true },
    )
    try {
      await expect(sql`create table intruder (id int)`.execute(connection.db)).rejects.toThrow(/read-only transaction/)
      const started = performance.now()
      await expect(sql`select pg_sleep(3)`.execute(connection.db)).rejects.toThrow(/statement timeout/)
      expect(performance.now() - started).toBeLessThan(2500)
      // The settings are the transaction's, not left behind on a server connection another client gets.
      const raw = new pg.Client({ connectionString: bouncer.url('kpi_primary') })
      await raw.connect()
      try {
        expect((await raw.query('show transaction_read_only')).rows[0].transaction_read_only).toBe('off')
        expect((await raw.query('show statement_timeout')).rows[0].statement_timeout).toBe('0')
      } finally {
        await raw.end()
      }
    } finally {
      await connection.destroy()
    }
  })

  test('in session mode through a transaction pooler: /ready and the API say it is a configuration problem (no Retry-After), and so does the log', async () => {
    const misconfigured = await startService({ DATABASE_URL: bouncer.url('kpi'), RATE_LIMIT_PER_MINUTE: '0' })
    try {
      const ready = await fetch(`${misconfigured.url}/ready`)
      expect(ready.status).toBe(503)
      expect(ready.headers.get('retry-after')).toBeNull()
      expect(((await ready.json()) as { error: string }).error).toContain('configuration problem, not an outage')
      const page = await fetch(`${misconfigured.url}/api/v1/kpi/conversations`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(page.status).toBe(503)
      expect(page.headers.get('retry-after')).toBeNull()
      await Bun.sleep(100)
      expect(misconfigured.output()).toMatch(/"level":"error","message":"database refuses the connection: a configuration problem[^"]*","error":"[^"]*unsupported startup parameter/)
    } finally {
      await misconfigured.stop()
    }
  })

  test('conflicts with recovery (the primary locking conversations again and again): pages never 500, the export arrives whole', async () => {
    const locker = new pg.Client({ connectionString: primary.url })
    locker.on('error', () => {})
    await locker.connect()
    let locking = true
    // Each ACCESS EXCLUSIVE lock is replayed on the standby, which cancels the queries in its way at once.
    const locks = (async () => {
      let taken = 0
      while (locking) {
        await locker.query('begin; lock table conversations in access exclusive mode')
        await Bun.sleep(20)
        await locker.query('commit')
        taken++
        await Bun.sleep(30)
      }
      return taken
    })()
    const statuses = new Map<number, number>()
    let exportRows = -1
    let exportError = ''
    try {
      const exported = (async () => {
        const response = await fetch(`${service.url}/api/v1/kpi/conversations?format=csv`, { headers: { api_access_token: DEMO_TOKEN } })
        // A cut export is a failed read (the response ends without its final chunk), never a short file.
        const csv = await response.text().catch((error: Error) => ((exportError = error.message), ''))
        exportRows = csv.split('\r\n').length - 2
      })()
      for (let i = 0; i < 120; i++) {
        const response = await fetch(`${service.url}/api/v1/kpi/conversations?page_size=200&page=${1 + (i % 10)}&since=${i}`, { headers: { api_access_token: DEMO_TOKEN } })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status === 503) expect(response.headers.get('retry-after')).not.toBeNull()
        await response.arrayBuffer()
      }
      await exported
    } finally {
      locking = false
      await locks
      await locker.end()
    }
    const conflicts = new pg.Client({ connectionString: standby.url })
    await conflicts.connect()
    const cancelled = Number((await conflicts.query(`select confl_lock from pg_stat_database_conflicts where datname = 'postgres'`)).rows[0].confl_lock)
    await conflicts.end()
    console.log(`recovery conflicts: ${cancelled} statements cancelled by the standby; answers ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(cancelled).toBeGreaterThan(0) // the conflicts really happened
    if (exportError || statuses.has(503)) console.log(service.output().split('\n').filter((line) => /"level":"error"/.test(line)).slice(-12).join('\n'))
    expect(exportError).toBe('')
    expect(statuses.get(500) ?? 0).toBe(0)
    expect([...statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true)
    expect(exportRows).toBe(total)
  }, 120_000)
})
