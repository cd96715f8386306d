// A deployment of several instances, built for real and tested through its balancer: a PostgreSQL
// primary and a hot standby (pg_basebackup -c fast -R), PgBouncer in transaction mode with its
// default settings in front of the standby (deploy/pgbouncer.ini), Redis for the shared state, two
// instances of the service, and HAProxy with its default `option httpchk GET /ready`
// (deploy/haproxy.cfg). Proven through HAProxy: the remote contract suite is green; page and cursor
// walks return every row once, in order, while conversations are inserted; instances agree on
// items_count and share the rate limit; recovery conflicts give no 500 and a whole export; the
// changes feed's plain mode never passes the standby's replay, and its exact mode (the change
// capture installed while the instances run) keeps a loader's copy equal to the database while
// replay is paused and resumed under writers; losing Redis, and then the primary (the standby
// promoted), the deployment keeps answering.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase, type Connection } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { buildAccessToken, buildConversation, seededFaker } from '../../fixtures/builders.ts'
import { DEMO_TOKEN, demoDataSet } from '../../fixtures/demo-data-set.ts'
import { insertDataSet, insertRows } from '../../fixtures/insert.ts'
import { findPostgresBin, startThrowawayPostgres, type ThrowawayPostgres } from '../../scripts/postgres.ts'
import { startHAProxy, startPgBouncer, startRedis, startStandby, type HAProxy, type PgBouncer, type Redis, type Standby } from '../../scripts/topology.ts'
import { installCapture } from '../../src/sync/capture.ts'
import { runRemoteSuite, suiteCount } from '../remote-suite.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService, type ServiceProcess } from '../service-process.ts'
import { get as rawGet, rawRequest } from '../raw-http.ts'

const CONVERSATIONS = 6000
const API = '/api/v1/kpi/conversations'
const RATE_LIMIT = 300
/** Tokens of the KPI tracker: one per test, so that each has a rate-limit window of its own. */
const TOKENS = {
  suite: 'topology-suite-token-0001',
  walks: 'topology-walks-token-0001',
  counts: 'topology-count-token-0001',
  conflicts: 'topology-conflict-token-01',
  rate: 'topology-rate-token-00001',
  failover: 'topology-failover-token-1',
  plainFeed: 'topology-plain-feed-tok-1',
  exactFeed: 'topology-exact-feed-tok-1',
}
/** The changes feed's lag in plain mode (short here, so a spec can wait it out). */
const LAG_SECONDS = 2
const demo = demoDataSet({ conversations: CONVERSATIONS })

const installed = (name: string, path: string) => Bun.which(name) ?? (Bun.file(path).size > 0 ? path : undefined)
const missing = [
  findPostgresBin() ? undefined : 'postgresql',
  installed('pgbouncer', '/usr/sbin/pgbouncer') ? undefined : 'pgbouncer',
  installed('haproxy', '/usr/sbin/haproxy') ? undefined : 'haproxy',
  installed('redis-server', '/usr/bin/redis-server') ? undefined : 'redis-server',
].filter(Boolean)
const runnable = !REMOTE_BASE_URL && missing.length === 0
if (!runnable && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error(`CI must run the topology spec: ${missing.join(', ')} missing (.ci/run installs them)`)
  console.warn(`*** topology spec skipped: apt-get install -y ${missing.join(' ')}`)
}

interface Page {
  meta: { items_count: number; next_cursor?: string | null }
  payload: Array<{ id: number; created_time: string }>
}

describe.skipIf(!runnable)('two instances behind HAProxy, reading a hot standby through PgBouncer, sharing state in Redis', () => {
  let primary: ThrowawayPostgres
  let writer: Connection
  let standby: Standby
  let bouncer: PgBouncer
  let redis: Redis
  let instances: ServiceProcess[] = []
  let haproxy: HAProxy
  let nextId = 1_000_000

  const get = (token: string, query: string) => fetch(`${haproxy.url}${API}?${query}`, { headers: { api_access_token: token } })
  const page = async (token: string, query: string): Promise<Page> => {
    const response = await get(token, query)
    if (response.status !== 200) throw new Error(`${query}: ${response.status} ${await response.text()}`)
    return (await response.json()) as Page
  }
  /** A conversation of a VBET account on the primary, created at `createdAt` (text, UTC). */
  const insertOld = async (createdAt: string) => {
    const id = nextId++
    await insertRows(writer, 'conversations', [buildConversation(seededFaker(id), { id, account_id: demo.vbetAccountIds[0]!, display_id: id, created_at: createdAt })])
  }
  /** The VBET conversations on the standby now: the truth a walk is checked against (items_count may be 10 s old). */
  const vbetRows = async () => {
    await caughtUp()
    return (await standbyQuery('select count(*)::int as n from conversations where account_id = any($1::int[])', [demo.vbetAccountIds])).n as number
  }
  /** Waits until the standby has replayed everything the primary wrote so far. */
  const caughtUp = async () => {
    const client = new pg.Client({ connectionString: primary.url })
    await client.connect()
    // The insert location, not the write location: the throwaway primary commits asynchronously
    // (synchronous_commit off), so its last commit may not be written yet.
    const lsn = (await client.query('select pg_current_wal_insert_lsn() as lsn')).rows[0].lsn
    await client.end()
    while (!(await standbyQuery('select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [lsn])).done) await Bun.sleep(20)
  }
  /**
   * One statement of the spec's own on the standby, on a connection of its own. The standby cancels a
   * query whose snapshot replay must remove rows from (SQLSTATE 40001, conflict with recovery; the
   * conflicts spec provokes them on purpose): the spec's reads are tried again, as the service's are.
   */
  const standbyQuery = async (text: string, values: unknown[] = []): Promise<Record<string, unknown>> => {
    for (let attempt = 1; ; attempt++) {
      const client = new pg.Client({ connectionString: standby.url })
      await client.connect()
      try {
        return (await client.query(text, values)).rows[0] ?? {}
      } catch (error) {
        if ((error as { code?: string }).code !== '40001' || attempt >= 10) throw error
      } finally {
        await client.end()
      }
      await Bun.sleep(50)
    }
  }

  beforeAll(async () => {
    primary = await startThrowawayPostgres({ settings: { full_page_writes: 'on', wal_level: 'replica' } })
    writer = openDatabase({ dialect: 'postgres', url: primary.url, poolSize: 2, connectTimeoutMs: 5000, statementTimeoutMs: 60_000 }, { readonly: false })
    await migrateToLatest(writer)
    await insertDataSet(writer, demo)
    const faker = seededFaker(7)
    await insertRows(writer, 'access_tokens', Object.values(TOKENS).map((token, index) => buildAccessToken(faker, { id: 900 + index, owner_id: 1, token })))
    standby = await startStandby(primary)
    bouncer = await startPgBouncer({ standby: standby.port, primary: primary.port })
    redis = await startRedis()
    await caughtUp()
    const env = {
      DATABASE_URL: bouncer.url('kpi'),
      DB_POOL_MODE: 'transaction',
      REDIS_URL: redis.url,
      CURSOR_SECRET: 'the-same-secret-on-every-instance-0123456789',
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      AUTH_FAILURES_PER_MINUTE: '0',
      CHANGES_LAG_SECONDS: String(LAG_SECONDS),
      // This machine is shared (two cores, several suites at once): a Redis command here can take
      // longer than the default 50 ms, which opens the breaker (limits then count per instance for
      // a moment), and the rate test wants exact sharing. spec/state/redis-breaker.spec.ts tests the default.
      REDIS_COMMAND_TIMEOUT_MS: '500',
    }
    instances = await Promise.all([startService(env), startService(env)])
    haproxy = await startHAProxy(instances.map((instance) => instance.url))
  }, 240_000)

  afterAll(async () => {
    await haproxy?.stop()
    await Promise.all(instances.map((instance) => instance.stop()))
    await redis?.stop()
    await bouncer?.stop()
    await standby?.stop()
    await writer?.destroy().catch(() => {})
    await primary?.stop()
  })

  test('HAProxy\'s default health check (HTTP/1.0, no Host) keeps both instances in rotation; each says it shares state in Redis', async () => {
    const servedBy = new Set<string>()
    for (let i = 0; i < 6; i++) servedBy.add((await fetch(`${haproxy.url}/ready`)).headers.get('x-served-by') ?? '')
    expect([...servedBy].sort()).toEqual(['instance1', 'instance2'])
    expect(await (await fetch(`${haproxy.url}/ready`)).json()).toEqual({ status: 'ready', shared_state: 'redis' })
  })

  test('dot segments (plain, encoded, mixed) and backslashes are refused by HAProxy before they reach an instance, which would resolve them', async () => {
    const port = Number(new URL(haproxy.url).port)
    const instancePort = Number(new URL(instances[0]!.url).port)
    const refused = [
      `${API}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/metrics`,
      `${API}/.%2e/.%2e/.%2e/.%2e/metrics`,
      `${API}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/swagger`,
      `${API}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/swagger/json`,
      `${API}/../../../../swagger/json`,
      `${API}/./changes`,
      '/api\\..\\swagger',
    ]
    // The premise: an instance itself resolves them (Bun does, before the service sees the path): the Swagger document.
    const direct = await rawRequest(instancePort, rawGet(`${API}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/swagger/json`, ['Host: kpi']))
    expect([direct.status, JSON.parse(direct.body).openapi]).toEqual([200, '3.1.0'])
    for (const target of refused) {
      const answer = await rawRequest(port, rawGet(target, ['Host: kpi', `api_access_token: ${TOKENS.suite}`]))
      expect([target, answer.status, answer.headers['content-type']]).toEqual([target, 400, 'application/json'])
      expect(JSON.parse(answer.body).error).toStartWith('Bad request: dot segments')
      expect(answer.headers['x-served-by']).toBeUndefined() // no instance saw it
    }
    // What the rule lets through: the API's paths, /metrics under the API's path (another endpoint's), dots inside a segment.
    for (const target of [`${API}?page_size=1`, `${API}/metrics`, `${API}/changes?start_time=0&x=/../`, '/health']) {
      const answer = await rawRequest(port, rawGet(target, ['Host: kpi', `api_access_token: ${TOKENS.suite}`]))
      expect([target, answer.headers['x-served-by']]).toEqual([target, expect.stringMatching(/^instance\d$/)])
    }
    // And the metrics are not on the API's port at all, however the path is spelled: the admin listener (loopback) has them.
    expect((await rawRequest(instancePort, rawGet('/metrics', ['Host: kpi']))).status).toBe(404)
    expect((await fetch(`${instances[0]!.adminUrl}/metrics`)).status).toBe(200)
  })

  test('HTTP/1.1 pipelining: an instance closes the connection unanswered (a Bun 1.4.5 bug), HAProxy in front answers every request', async () => {
    const pipelined = (path: string) =>
      [1, 2, 3].map((n) => `GET ${path} HTTP/1.1\r\nHost: kpi\r\n${n === 3 ? 'Connection: close\r\n' : ''}\r\n`).join('')
    const answers = (raw: string) => raw.match(/HTTP\/1\.1 200 /g)?.length ?? 0
    // The premise (docs/deployment.md says clients must not pipeline to an instance): fewer than three answers.
    const direct = await rawRequest(Number(new URL(instances[0]!.url).port), pipelined('/ready')).catch(() => ({ raw: '' }))
    expect(answers(direct.raw)).toBeLessThan(3)
    const through = await rawRequest(Number(new URL(haproxy.url).port), pipelined('/ready'))
    expect(answers(through.raw)).toBe(3)
  })

  test('through PgBouncer (transaction mode) the service\'s sessions stay read-only and keep the statement timeout, per transaction', async () => {
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
      const answer = await fetch(`${misconfigured.url}${API}`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(answer.status).toBe(503)
      expect(answer.headers.get('retry-after')).toBeNull()
      await Bun.sleep(100)
      expect(misconfigured.output()).toMatch(/"level":"error","message":"database refuses the connection: a configuration problem[^"]*","error":"[^"]*unsupported startup parameter/)
    } finally {
      await misconfigured.stop()
    }
  })

  test('the remote contract suite through the balancer: green', async () => {
    const { code, output } = await runRemoteSuite(haproxy.url, {
      KPI_TOKEN: TOKENS.suite,
      KPI_ACCOUNT_ID: String(demo.vbetAccountIds[0]),
      KPI_FOREIGN_ACCOUNT_ID: String(demo.otherAccountIds[0]),
    })
    if (code !== 0) console.log(output.slice(-5000))
    expect(output).toContain('[remote] contract invariants')
    expect(suiteCount(output, 'fail')).toBe(0)
    expect(code).toBe(0)
  }, 120_000)

  test('a page walk and a cursor walk across both instances, while older conversations are inserted: every row once, in order', async () => {
    for (const walk of ['pages', 'cursor'] as const) {
      const total = await vbetRows()
      const first = await page(TOKENS.walks, walk === 'cursor' ? 'page_size=250&cursor=' : 'page_size=250&page=1')
      const seen = [...first.payload]
      let cursor = first.meta.next_cursor
      for (let n = 2; seen.length < total; n++) {
        // Created at the start of the range: behind the walk, where an offset would repeat a row.
        await insertOld(first.payload[0]!.created_time.replace('T', ' ').replace('Z', ''))
        await caughtUp()
        const next = await page(TOKENS.walks, walk === 'cursor' ? `cursor=${cursor}` : `page_size=250&page=${n}`)
        if (next.payload.length === 0) break
        seen.push(...next.payload)
        cursor = next.meta.next_cursor
      }
      const ids = seen.map((item) => item.id)
      expect([walk, new Set(ids).size]).toEqual([walk, ids.length]) // nothing repeated
      expect([walk, ids.length]).toEqual([walk, total]) // nothing skipped
      // In created_at order (shown to the second; within a second the stored fractions decide).
      const times = seen.map((item) => item.created_time)
      expect(times).toEqual([...times].sort())
    }
  }, 120_000)

  test('instances agree on items_count while conversations are inserted (one count, shared, for its lifetime)', async () => {
    const counts = new Map<string, Set<number>>()
    for (let i = 0; i < 12; i++) {
      // A scope of its own (since=7): its count is cached at the first request, for 10 s, longer
      // than this test (a scope an earlier test cached could expire midway and be counted again).
      const response = await get(TOKENS.counts, 'page_size=1&sort_direction=desc&since=7')
      const server = response.headers.get('x-served-by') ?? ''
      if (!counts.has(server)) counts.set(server, new Set())
      counts.get(server)!.add(((await response.json()) as Page).meta.items_count)
      await insertOld(new Date().toISOString().replace('T', ' ').replace('Z', ''))
      await caughtUp() // visible on the standby: an instance counting afresh would see it
    }
    expect([...counts.keys()].sort()).toEqual(['instance1', 'instance2'])
    expect(new Set([...counts.values()].flatMap((set) => [...set])).size).toBe(1)
  })

  test(`${RATE_LIMIT * 1.6} requests a minute against a limit of ${RATE_LIMIT}: 429s whatever instance they reach`, async () => {
    const refusedBy = new Map<string, number>()
    let allowed = 0
    for (let i = 0; i < RATE_LIMIT * 1.6; i++) {
      const response = await get(TOKENS.rate, 'page_size=1')
      await response.arrayBuffer()
      if (response.status === 200) allowed++
      else if (response.status === 429) refusedBy.set(response.headers.get('x-served-by') ?? '', (refusedBy.get(response.headers.get('x-served-by') ?? '') ?? 0) + 1)
    }
    expect(allowed).toBe(RATE_LIMIT)
    expect([...refusedBy.keys()].sort()).toEqual(['instance1', 'instance2'])
    expect([...refusedBy.values()].reduce((a, b) => a + b, 0)).toBe(RATE_LIMIT * 0.6)
  }, 60_000)

  test('conflicts with recovery (the primary locking conversations again and again): pages never 500, the export arrives whole', async () => {
    const total = await vbetRows()
    const locker = new pg.Client({ connectionString: primary.url })
    locker.on('error', () => {})
    await locker.connect()
    let locking = true
    // Each ACCESS EXCLUSIVE lock is replayed on the standby, which cancels the queries in its way at once.
    // Four a second: a statement that takes more than the gap between two (a loaded machine's export
    // batch, at a lock every 50 ms) could never finish, which is a standby no service can read.
    const locks = (async () => {
      while (locking) {
        await locker.query('begin; lock table conversations in access exclusive mode')
        await Bun.sleep(20)
        await locker.query('commit')
        await Bun.sleep(230)
      }
    })()
    const statuses = new Map<number, number>()
    let exportRows = -1
    let exportError = ''
    try {
      const exported = (async () => {
        const response = await get(TOKENS.conflicts, 'format=csv')
        // A cut export is a failed read (the response ends without its final chunk), never a short file.
        const csv = await response.text().catch((error: Error) => ((exportError = error.message), ''))
        exportRows = csv.split('\r\n').length - 2
      })()
      for (let i = 0; i < 120; i++) {
        const response = await get(TOKENS.conflicts, `page_size=200&page=${1 + (i % 10)}&since=${i}`)
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
    const cancelled = Number((await standbyQuery(`select confl_lock from pg_stat_database_conflicts where datname = 'postgres'`)).confl_lock)
    console.log(`recovery conflicts: ${cancelled} statements cancelled by the standby; answers ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(cancelled).toBeGreaterThan(0) // the conflicts really happened
    if (exportError) console.log(instances.map((instance) => instance.output().split('\n').filter((line) => /export|error|warn/.test(line)).slice(-15).join('\n')).join('\n---\n'))
    expect(exportError).toBe('')
    expect(statuses.get(500) ?? 0).toBe(0)
    expect([...statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true)
    expect(exportRows).toBe(total)
  }, 120_000)

  test('without Redis the instances keep answering from their own memory (and say so on /ready), and share again when it is back', async () => {
    await redis.halt()
    try {
      for (let i = 0; i < 10; i++) expect((await get(TOKENS.failover, 'page_size=1')).status).toBe(200)
      const ready = (await (await fetch(`${haproxy.url}/ready`)).json()) as { shared_state: string }
      expect(ready.shared_state).toBe('memory (redis unavailable)')
    } finally {
      await redis.resume()
    }
    await Bun.sleep(1200) // each instance tries Redis again a second after it failed
    for (let i = 0; i < 4; i++) await get(TOKENS.failover, 'page_size=1')
    const states = new Set<string>()
    for (let i = 0; i < 4; i++) states.add(((await (await fetch(`${haproxy.url}/ready`)).json()) as { shared_state: string }).shared_state)
    expect([...states]).toEqual(['redis'])
  }, 30_000)

  /** One statement on the standby, as its superuser (pausing and resuming replay, reading its clocks). */
  const onStandby = (text: string) => standbyQuery(text)
  /** The README's loader through HAProxy (either instance), with its copy by conversation id. */
  const feedLoader = (token: string, startTime: number) => {
    const copy = new Map<number, Record<string, unknown>>()
    let cursor: string | undefined
    const pages: Array<{ meta: Record<string, any>; payload: any[] }> = []
    return {
      copy,
      pages,
      async sync() {
        for (let n = 0; n < 500; n++) {
          const response = await fetch(`${haproxy.url}${API}/changes?${cursor ? `cursor=${cursor}` : `start_time=${startTime}&page_size=500`}`, { headers: { api_access_token: token } })
          if (response.status !== 200) throw new Error(`changes: ${response.status} ${await response.text()}`)
          const page = (await response.json()) as { meta: Record<string, any>; payload: any[] }
          pages.push(page)
          for (const account of page.meta.accounts_removed ?? []) for (const [id, row] of copy) if (row.account_id === account) copy.delete(id)
          for (const item of page.payload) {
            if (item.deleted) copy.delete(item.id)
            else copy.set(item.id, item)
          }
          cursor = page.meta.next_cursor
          if (page.meta.end_of_stream) return page
        }
        throw new Error('the walk did not end')
      },
    }
  }

  test('plain mode on the standby: end_time never passes its last replayed commit (less the lag), so a change it has not replayed yet is not skipped', async () => {
    // A commit the standby has replayed (before it, a standby knows no time its data is complete to, and serves nothing new).
    await insertOld(new Date().toISOString().replace('T', ' ').replace('Z', ''))
    await caughtUp()
    const loader = feedLoader(TOKENS.plainFeed, Math.floor(Date.now() / 1000) - 3600)
    expect((await loader.sync()).meta.exact).toBe(false)
    await onStandby('select pg_wal_replay_pause()')
    let changedId = 0
    try {
      // A change on the primary that the standby does not replay meanwhile, older than the lag by any clock when the feed is read.
      const client = new pg.Client({ connectionString: primary.url })
      await client.connect()
      changedId = Number((await client.query(`update conversations set status = 2, updated_at = now() at time zone 'utc' where id = (select min(id) from conversations where account_id = $1) returning id`, [demo.vbetAccountIds[0]])).rows[0].id)
      await client.end()
      await Bun.sleep((LAG_SECONDS + 1.5) * 1000)
      const replayed = Number((await onStandby('select extract(epoch from pg_last_xact_replay_timestamp()) as at')).at)
      const during = await loader.sync()
      expect(during.meta.end_time).toBeLessThanOrEqual(Math.floor(replayed) - LAG_SECONDS)
      expect(loader.pages.flatMap((page) => page.payload).map((item) => item.id)).not.toContain(changedId)
    } finally {
      await onStandby('select pg_wal_replay_resume()')
    }
    // The standby's data is complete to its last replayed commit (less the lag): a later commit, as a busy helpdesk makes all the time.
    await Bun.sleep((LAG_SECONDS + 1) * 1000)
    await insertOld(new Date().toISOString().replace('T', ' ').replace('Z', ''))
    await caughtUp()
    const from = loader.pages.length
    await loader.sync()
    expect(loader.pages.slice(from).flatMap((page) => page.payload).filter((item) => item.id === changedId)).toHaveLength(1)
    expect(loader.copy.get(changedId)).toMatchObject({ status: 'pending' })
  }, 60_000)

  test('exact mode, installed on the primary while the instances run: noticed within 30 s; the loader through HAProxy on the standby, replay paused and resumed under writers and a transaction held open: the copy equals the database, 0 lost', async () => {
    await installCapture(writer, { retentionDays: 30 })
    // Both instances find it within their 30 s probe.
    const noticed = Date.now()
    for (let exact = 0; exact < 4; ) {
      const response = await fetch(`${haproxy.url}${API}/changes?start_time=0&page_size=1`, { headers: { api_access_token: TOKENS.exactFeed } })
      exact = ((await response.json()) as { meta: { exact: boolean } }).meta.exact ? exact + 1 : 0
      if (Date.now() - noticed > 40_000) throw new Error('the instances did not notice the change capture within 40 s')
      if (exact < 4) await Bun.sleep(1000)
    }
    const loader = feedLoader(TOKENS.exactFeed, 0)
    expect((await loader.sync()).meta.exact).toBe(true)

    const primaryClient = new pg.Client({ connectionString: primary.url })
    const holder = new pg.Client({ connectionString: primary.url })
    await Promise.all([primaryClient.connect(), holder.connect()])
    const faker = seededFaker(2026)
    const account = () => faker.helpers.arrayElement([...demo.vbetAccountIds, ...demo.otherAccountIds])
    const someId = async () => Number((await primaryClient.query('select id from conversations order by random() limit 1')).rows[0].id)
    let writes = 0
    try {
      for (let round = 0; round < 3; round++) {
        await onStandby('select pg_wal_replay_pause()')
        // A transaction held open across the loader's polls, with an updated_at from a clock 10 s behind.
        await holder.query('begin')
        await holder.query(`update conversations set status = 3, updated_at = (now() at time zone 'utc') - interval '10 seconds' where id = $1`, [await someId()])
        for (let i = 0; i < 40; i++, writes++) {
          const kind = faker.number.int({ min: 0, max: 6 })
          if (kind === 0) {
            const id = nextId++
            const at = new Date().toISOString().replace('T', ' ').replace('Z', '')
            await primaryClient.query('insert into conversations (id, account_id, inbox_id, display_id, status, created_at, updated_at) values ($1, $2, 1, $1, 0, $3, $3)', [id, account(), at])
          } else if (kind === 1) await primaryClient.query('update conversations set status = $1 where id = $2', [faker.number.int({ min: 0, max: 3 }), await someId()])
          else if (kind === 2) await primaryClient.query(`update conversations set additional_attributes = $1, status = 1, updated_at = now() at time zone 'utc' where id = $2`, [JSON.stringify({ resolved_time: new Date().toISOString() }), await someId()])
          else if (kind === 3) await primaryClient.query('delete from conversations where id = $1', [await someId()])
          else if (kind === 4) await primaryClient.query('update users set name = $1 where id = (select assignee_id from conversations where assignee_id is not null order by random() limit 1)', [`Renamed ${writes}`])
          else if (kind === 5) await primaryClient.query(`insert into taggings (tag_id, taggable_type, taggable_id, context) select id, 'Conversation', $1, 'labels' from tags order by random() limit 1`, [await someId()])
          else await primaryClient.query('delete from taggings where id = (select id from taggings order by random() limit 1)')
          if (i % 10 === 9) await loader.sync() // while the standby replays nothing
        }
        await onStandby('select pg_wal_replay_resume()')
        await loader.sync()
        await holder.query('commit')
        await loader.sync()
      }
    } finally {
      await holder.query('rollback').catch(() => {})
      await onStandby('select pg_wal_replay_resume()').catch(() => {})
      await Promise.all([primaryClient.end(), holder.end()])
    }
    await caughtUp()
    await loader.sync()

    // The truth, from the standby through the balancer: the documented endpoint's item of every VBET conversation, with its updated_at.
    // updated_at from the primary (the standby has caught up with it; a query of ours there could be cancelled by a conflict with recovery).
    const source = new pg.Client({ connectionString: primary.url })
    await source.connect()
    const updated = new Map((await source.query('select id, updated_at::text as at from conversations')).rows.map((row) => [Number(row.id), String(row.at)]))
    await source.end()
    const truth = new Map<number, Record<string, unknown>>()
    for (let n = 1; ; n++) {
      const documented = await page(TOKENS.exactFeed, `since=${-62135596800}&until=253402300799&page_size=1000&page=${n}`)
      for (const item of documented.payload as any[]) {
        truth.set(item.id, { ...item, updated_time: `${updated.get(item.id)!.slice(0, 19).replace(' ', 'T')}Z`, deleted: false })
      }
      if (documented.payload.length < 1000) break
    }
    const missing = [...truth.keys()].filter((id) => !loader.copy.has(id))
    const extra = [...loader.copy.keys()].filter((id) => !truth.has(id))
    const stale = [...truth.keys()].filter((id) => loader.copy.has(id) && !Bun.deepEquals(loader.copy.get(id), truth.get(id)))
    console.log(`exact feed through HAProxy and the standby: ${writes} writes in 3 rounds of replay paused; copy ${loader.copy.size}, truth ${truth.size}`)
    expect({ missing, extra, stale }).toEqual({ missing: [], extra: [], stale: [] })
    expect(truth.size).toBeGreaterThan(3000)
  }, 180_000)

  test('losing the primary, then promoting the standby: the deployment keeps answering, never 500', async () => {
    const statuses = new Map<number, number>()
    const ask = async () => {
      const response = await get(TOKENS.failover, 'page_size=5')
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      await response.arrayBuffer()
      return response.status
    }
    await writer.destroy()
    await primary.halt() // the primary is gone; the standby still serves reads
    for (let i = 0; i < 20; i++) await ask()
    await standby.promote()
    for (let i = 0; i < 20; i++) await ask()
    expect(await ask()).toBe(200)
    // Promoted, it is writable; the service's sessions through PgBouncer still are not.
    const service = openDatabase({ dialect: 'postgres', url: bouncer.url('kpi'), poolSize: 1, connectTimeoutMs: 5000, statementTimeoutMs: 5000, poolMode: 'transaction' }, { readonly: true })
    try {
      await expect(sql`create table intruder (id int)`.execute(service.db)).rejects.toThrow(/read-only transaction/)
    } finally {
      await service.destroy()
    }
    console.log(`failover: answers ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(statuses.get(500) ?? 0).toBe(0)
    expect(statuses.get(200) ?? 0).toBeGreaterThanOrEqual(40)
  }, 60_000)
})
