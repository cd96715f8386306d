// Unit specs of the configuration: defaults, dialect selection, and failing fast with clear messages.
import { describe, expect, test } from 'bun:test'
import { DEFAULT_KPI_TRACKER_EMAIL, DEFAULT_SQLITE_FILE, describeDatabase, loadConfig } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'

describe('loadConfig', () => {
  test('defaults: embedded SQLite, 127.0.0.1:3000, kpi_tracker@vbet.com', () => {
    const config = loadConfig({})
    expect(config).toEqual({
      database: { dialect: 'sqlite', filename: DEFAULT_SQLITE_FILE, isEmbeddedDefault: true },
      host: '127.0.0.1',
      port: 3000,
      adminHost: '127.0.0.1',
      adminPort: 9464,
      reusePort: false,
      kpiTrackerEmail: DEFAULT_KPI_TRACKER_EMAIL,
      countCacheTtlMs: 10_000,
      tokenCacheTtlMs: 5_000,
      pageBoundaryTtlMs: 60_000,
      cursorSecret: undefined,
      rateLimitPerMinute: 600,
      authFailuresPerMinute: 30,
      shutdownGraceMs: 25_000,
      exportWriteTimeoutMs: 30_000,
      gcIntervalMs: 0,
      redisUrl: undefined,
      redisCommandTimeoutMs: 50,
      changesLagSeconds: 60,
      changesRetentionDays: 30,
    })
    expect(DEFAULT_SQLITE_FILE).toEndWith('/data/kpi-conversations.sqlite')
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('postgres:// and postgresql:// select PostgreSQL, with pool and timeouts', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:secret@db:5433/chatwoot', DB_POOL_SIZE: '4', DB_CONNECT_TIMEOUT_MS: '2000', DB_STATEMENT_TIMEOUT_MS: '9000' })
    expect(config.database).toEqual({ dialect: 'postgres', url: 'postgresql://u:secret@db:5433/chatwoot', poolSize: 4, connectTimeoutMs: 2000, statementTimeoutMs: 9000, poolMode: 'session', exportConnections: 2 })
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot' }).database).toMatchObject({ dialect: 'postgres', poolSize: 10, connectTimeoutMs: 5000, statementTimeoutMs: 15000 })
  })

  test.each([
    ['sqlite:./data/x.sqlite', './data/x.sqlite'],
    ['sqlite:///tmp/x.sqlite', '/tmp/x.sqlite'],
    ['sqlite::memory:', ':memory:'],
    ['/var/lib/kpi.sqlite', '/var/lib/kpi.sqlite'],
    ['kpi.db', 'kpi.db'],
  ])('%p selects SQLite file %p', (url, filename) => {
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ dialect: 'sqlite', filename, isEmbeddedDefault: false })
  })

  test('DB_POOL_MODE: session by default, transaction behind a transaction pooler, nothing else', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_MODE: 'transaction' }).database).toMatchObject({ poolMode: 'transaction' })
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_MODE: 'statement' })).toThrow('DB_POOL_MODE must be session or transaction (got "statement")')
  })

  test('REUSE_PORT: off unless asked for (1 or true), so a port in use is an error', () => {
    expect(loadConfig({ REUSE_PORT: '1' }).reusePort).toBe(true)
    expect(loadConfig({ REUSE_PORT: 'true' }).reusePort).toBe(true)
    expect(loadConfig({ REUSE_PORT: '0' }).reusePort).toBe(false)
    expect(() => loadConfig({ REUSE_PORT: 'yes' })).toThrow('REUSE_PORT must be 1 (share the port with other processes that ask for it) or 0 (got "yes")')
  })

  test('ADMIN_PORT and ADMIN_HOST: the metrics\' listener, 9464 on loopback by default whatever HOST says, never the API\'s port', () => {
    expect(loadConfig({ HOST: '0.0.0.0' })).toMatchObject({ host: '0.0.0.0', adminHost: '127.0.0.1', adminPort: 9464 })
    expect(loadConfig({ ADMIN_PORT: '9100', ADMIN_HOST: '10.0.0.5' })).toMatchObject({ adminHost: '10.0.0.5', adminPort: 9100 })
    expect(loadConfig({ PORT: '0', ADMIN_PORT: '0' })).toMatchObject({ port: 0, adminPort: 0 })
    expect(() => loadConfig({ PORT: '8080', ADMIN_PORT: '8080' })).toThrow('ADMIN_PORT must differ from PORT (both are 8080)')
    expect(() => loadConfig({ ADMIN_PORT: '70000' })).toThrow('ADMIN_PORT must be an integer from 0 to 65535 (got "70000")')
  })

  test('DB_EXPORT_CONNECTIONS: the share of the pool exports may hold, half of DB_POOL_SIZE by default (at least 1), at most all but one', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot' }).database).toMatchObject({ poolSize: 10, exportConnections: 5 })
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_SIZE: '1' }).database).toMatchObject({ exportConnections: 1 })
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_SIZE: '7' }).database).toMatchObject({ exportConnections: 3 })
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_SIZE: '20', DB_EXPORT_CONNECTIONS: '4' }).database).toMatchObject({ exportConnections: 4 })
    expect(loadConfig({ DATABASE_URL: 'postgres://db/chatwoot', DB_POOL_SIZE: '4', DB_EXPORT_CONNECTIONS: '3' }).database).toMatchObject({ exportConnections: 3 })
    expect(() => loadConfig({ DB_POOL_SIZE: '4', DB_EXPORT_CONNECTIONS: '4' })).toThrow('DB_EXPORT_CONNECTIONS must be an integer from 1 to 3 (got "4")')
    expect(() => loadConfig({ DB_EXPORT_CONNECTIONS: '0' })).toThrow('DB_EXPORT_CONNECTIONS must be an integer from 1 to 9 (got "0")')
  })

  test('EXPORT_WRITE_TIMEOUT_MS: 30 s by default, 100 ms to an hour', () => {
    expect(loadConfig({ EXPORT_WRITE_TIMEOUT_MS: '2000' }).exportWriteTimeoutMs).toBe(2000)
    expect(() => loadConfig({ EXPORT_WRITE_TIMEOUT_MS: '50' })).toThrow('EXPORT_WRITE_TIMEOUT_MS must be an integer from 100 to 3600000 (got "50")')
  })

  test('REDIS_COMMAND_TIMEOUT_MS: 50 ms by default, 1 to 10000', () => {
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '20' }).redisCommandTimeoutMs).toBe(20)
    expect(() => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow('REDIS_COMMAND_TIMEOUT_MS must be an integer from 1 to 10000 (got "0")')
    expect(() => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: 'fast' })).toThrow('REDIS_COMMAND_TIMEOUT_MS must be an integer')
  })

  test('REDIS_URL: a redis:// or rediss:// URL, never echoed', () => {
    expect(loadConfig({ REDIS_URL: 'redis://:secret@cache:6379/0' }).redisUrl).toBe('redis://:secret@cache:6379/0')
    expect(() => loadConfig({ REDIS_URL: 'http://:secret@cache' })).toThrow('REDIS_URL must be a redis:// or rediss:// URL')
    expect(() => loadConfig({ REDIS_URL: 'http://:secret@cache' })).not.toThrow('secret')
  })

  test('PORT, HOST and KPI_TRACKER_EMAIL', () => {
    expect(loadConfig({ PORT: '8080', HOST: '0.0.0.0', KPI_TRACKER_EMAIL: 'kpi@example.com' })).toMatchObject({ port: 8080, host: '0.0.0.0', kpiTrackerEmail: 'kpi@example.com' })
  })

  test('every problem at once, each naming its variable, never echoing a password', () => {
    let error: unknown
    try {
      loadConfig({ PORT: 'eighty', KPI_TRACKER_EMAIL: 'nobody', DATABASE_URL: 'mysql://root:hunter2@db/x', DB_POOL_SIZE: '0' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const { problems, message } = error as ConfigError
    expect(problems).toHaveLength(4)
    expect(message).toContain('PORT must be an integer from 0 to 65535')
    expect(message).toContain('KPI_TRACKER_EMAIL must be an email address')
    expect(message).toContain('DATABASE_URL must be a postgres:// URL')
    expect(message).toContain('DB_POOL_SIZE must be an integer from 1 to 1000')
    expect(message).not.toContain('hunter2')
  })

  test('GC_INTERVAL_MS: off (0) by default, else at least 100 ms', () => {
    expect(loadConfig({}).gcIntervalMs).toBe(0)
    expect(loadConfig({ GC_INTERVAL_MS: '1000' }).gcIntervalMs).toBe(1000)
    expect(() => loadConfig({ GC_INTERVAL_MS: '50' })).toThrow('GC_INTERVAL_MS must be 0 (off) or an integer from 100 to 600000 (got "50")')
    expect(() => loadConfig({ GC_INTERVAL_MS: 'often' })).toThrow('GC_INTERVAL_MS')
  })
  test('CHANGES_RETENTION_DAYS: 30 by default, any number of days above 0, fractions allowed', () => {
    expect(loadConfig({ CHANGES_RETENTION_DAYS: '7' }).changesRetentionDays).toBe(7)
    expect(loadConfig({ CHANGES_RETENTION_DAYS: '0.5' }).changesRetentionDays).toBe(0.5)
    for (const bad of ['0', '-1', 'month', '1e3', '40000']) {
      expect(() => loadConfig({ CHANGES_RETENTION_DAYS: bad })).toThrow(`CHANGES_RETENTION_DAYS must be a number of days above 0, at most 36500, fractions allowed (got "${bad}")`)
    }
  })

  test('cache lifetimes, 0 turning a cache off', () => {
    expect(loadConfig({ COUNT_CACHE_TTL_MS: '0', TOKEN_CACHE_TTL_MS: '250' })).toMatchObject({ countCacheTtlMs: 0, tokenCacheTtlMs: 250 })
    expect(() => loadConfig({ COUNT_CACHE_TTL_MS: '-1' })).toThrow('COUNT_CACHE_TTL_MS must be an integer')
  })

  test('CURSOR_SECRET: at least 32 characters, never echoed', () => {
    expect(loadConfig({ CURSOR_SECRET: 'x'.repeat(32) }).cursorSecret).toBe('x'.repeat(32))
    expect(() => loadConfig({ CURSOR_SECRET: 'short-secret' })).toThrow('CURSOR_SECRET must be at least 32 characters')
    try {
      loadConfig({ CURSOR_SECRET: 'short-secret' })
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret')
    }
  })

  test('a PORT out of range fails', () => expect(() => loadConfig({ PORT: '70000' })).toThrow('PORT must be an integer'))
  test('an empty sqlite: URL fails', () => expect(() => loadConfig({ DATABASE_URL: 'sqlite:' })).toThrow('needs a file path'))
})

describe('describeDatabase', () => {
  test('leaves the credentials out', () => {
    expect(describeDatabase({ dialect: 'postgres', url: 'postgres://kpi:s3cret@db.internal:5432/chatwoot', poolSize: 1, connectTimeoutMs: 1, statementTimeoutMs: 1 })).toBe(
      'postgres://db.internal:5432/chatwoot',
    )
  })
})
