// The one module that knows the test databases. SQLite always; PostgreSQL whenever
// TEST_DATABASE_URL names a server (scripts/test.ts starts a throwaway one); SQLite in a temporary file. DIALECTS=sqlite or
// DIALECTS=postgres narrows the run. Each spec file gets a fresh database of its own.
import { afterAll, beforeAll, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openDatabase, type Connection, type DialectName } from '../src/db/dialect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { contractDataSet } from '../fixtures/contract-data-set.ts'
import { insertDataSet, type DataSet } from '../fixtures/insert.ts'

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined
const requested = (process.env.DIALECTS ?? 'sqlite,postgres').split(',').map((name) => name.trim())

/**
 * Remote mode (docs/contract-suite.md): the contract suite runs against a deployment at this URL,
 * over real HTTP, with read requests only. No database is opened; specs that need the fixture data
 * set are reported as skipped.
 */
export const REMOTE_BASE_URL = process.env.KPI_BASE_URL?.trim().replace(/\/+$/, '') || undefined

// Remote mode without a token could only fail every spec file, each with the same error, as
// "Unhandled error between tests": said once instead, before anything runs.
if (REMOTE_BASE_URL && !process.env.KPI_TOKEN?.trim()) {
  console.error(
    `\nremote mode needs KPI_TOKEN: KPI_BASE_URL is ${REMOTE_BASE_URL}, and the suite needs the KPI tracker's api_access_token ` +
      'of that deployment in KPI_TOKEN (docs/contract-suite.md). Nothing was run.\n',
  )
  process.exit(1)
}

export const DIALECTS: readonly DialectName[] = REMOTE_BASE_URL
  ? []
  : (['sqlite', 'postgres'] as const).filter((name) => requested.includes(name) && (name === 'sqlite' || TEST_DATABASE_URL !== undefined))

/**
 * For a spec file that needs the fixture data set: in remote mode, reports it as one skipped test
 * saying why, and returns true.
 */
export function localOnly(what: string): boolean {
  if (!REMOTE_BASE_URL) return false
  test.skip(`${what} (local only: needs the fixture data set)`, () => {})
  return true
}

if (!REMOTE_BASE_URL && requested.includes('postgres') && TEST_DATABASE_URL === undefined && process.env.CI) {
  throw new Error('CI must run the suite against PostgreSQL too: set TEST_DATABASE_URL (scripts/test.ts does)')
}

/** The session time zone of every PostgreSQL test database: far from UTC, and not the process's. */
export const SERVER_TIME_ZONE = 'Asia/Kathmandu'
const TEMPLATE = `kpi_test_template_${process.pid}`
let templateReady: Promise<void> | undefined
let databaseCounter = 0

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

function urlOf(database: string): string {
  const url = new URL(TEST_DATABASE_URL!)
  url.pathname = `/${database}`
  return url.toString()
}

// Migrating once into a template and cloning it per spec file is much faster than migrating each.
function ensureTemplate(): Promise<void> {
  templateReady ??= (async () => {
    await admin(async (client) => {
      await client.query(`drop database if exists ${TEMPLATE}`)
      await client.query(`create database ${TEMPLATE}`)
    })
    const connection = openDatabase(postgresConfig(urlOf(TEMPLATE)), { readonly: false })
    try {
      await migrateToLatest(connection)
    } finally {
      await connection.destroy()
    }
    process.once('beforeExit', () => void admin((client) => client.query(`drop database if exists ${TEMPLATE}`)).catch(() => {}))
  })()
  return templateReady
}

function postgresConfig(url: string) {
  return { dialect: 'postgres', url, poolSize: 5, connectTimeoutMs: 5000, statementTimeoutMs: 30_000 } as const
}

export interface TestDatabase {
  /** A writable connection: specs seed and change data through it. */
  readonly connection: Connection
  /** The configuration of this database, for opening more connections (e.g. read-only, like the service). */
  readonly config: Parameters<typeof openDatabase>[0]
  destroy(): Promise<void>
}

/** A new, migrated, empty database of the dialect. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    // A file rather than :memory:, so that a spec can open a second, read-only connection as the service does.
    const dir = mkdtempSync(join(tmpdir(), 'kpi-sqlite-'))
    const config = { dialect: 'sqlite', filename: join(dir, 'test.sqlite'), isEmbeddedDefault: false } as const
    const connection = openDatabase(config, { readonly: false })
    await migrateToLatest(connection)
    return {
      connection,
      config,
      async destroy() {
        await connection.destroy()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  await ensureTemplate()
  const name = `kpi_test_${process.pid}_${++databaseCounter}`
  await admin(async (client) => {
    await client.query(`create database ${name} template ${TEMPLATE}`)
    // Whatever the server's own setting: not UTC, so every PostgreSQL spec proves times are read as UTC.
    await client.query(`alter database ${name} set timezone to '${SERVER_TIME_ZONE}'`)
  })
  const config = postgresConfig(urlOf(name))
  const connection = openDatabase(config, { readonly: false })
  return {
    connection,
    config,
    async destroy() {
      await connection.destroy()
      await admin((client) => client.query(`drop database if exists ${name} with (force)`))
    },
  }
}

/**
 * For a describe block: a database of the dialect seeded with `dataSet` (the contract data set by
 * default) before its specs, dropped after them. Read `.connection` inside specs.
 */
export function useDatabase(
  dialect: DialectName,
  dataSet: () => DataSet = contractDataSet,
  options: { readonly timeout?: number } = {},
): { readonly connection: Connection; readonly database: TestDatabase } {
  let database: TestDatabase | undefined
  // Bun's hooks time out after 5 s whatever bunfig says: a large data set says how long it needs.
  beforeAll(async () => {
    database = await createTestDatabase(dialect)
    await insertDataSet(database.connection, dataSet())
  }, options.timeout)
  afterAll(async () => {
    await database?.destroy()
  })
  return {
    get connection() {
      if (!database) throw new Error('the test database is not ready: use it inside a spec')
      return database.connection
    },
    get database() {
      if (!database) throw new Error('the test database is not ready: use it inside a spec')
      return database
    },
  }
}
