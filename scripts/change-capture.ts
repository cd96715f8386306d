// `npm run change-capture -- install|status|remove`: the change capture of the helpdesk database
// named by DATABASE_URL (the embedded demo file when unset), which makes the changes feed exact.
// Run it as the tables' owner, like the indexes in docs/changes-feed.md. status exits 0 when the
// capture is installed, 3 when it is not (or only in part), 1 on a mistake.
import { parseArgs } from 'node:util'
import { describeDatabase, parseDatabaseUrl } from '../src/config.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { installCapture, readCaptureStatus, removeCapture, type CaptureStatus } from '../src/sync/capture.ts'

const USAGE = 'usage: npm run change-capture -- install [--grant <role>] [--retention-days <days>] | status | remove'
const DEFAULT_CAPTURE_RETENTION_DAYS = 30

/** A mistake of the operator's: one line, exit 1. */
function fail(message: string): never {
  console.error(message)
  process.exit(1)
}

let parsed
try {
  parsed = parseArgs({ allowPositionals: true, options: { grant: { type: 'string' }, 'retention-days': { type: 'string' } } })
} catch (error) {
  fail(`${(error as Error).message}; ${USAGE}`)
}
const [command, ...extra] = parsed.positionals
if (!command || extra.length > 0 || !['install', 'status', 'remove'].includes(command)) fail(USAGE)

const retentionText = parsed.values['retention-days']
const retentionDays = retentionText === undefined ? DEFAULT_CAPTURE_RETENTION_DAYS : Number(retentionText)
if (retentionText !== undefined && (!/^\d+(\.\d+)?$/.test(retentionText) || !(retentionDays > 0))) {
  fail(`--retention-days must be a number of days above 0, fractions allowed (got "${retentionText}")`)
}
if (command !== 'install' && (parsed.values.grant !== undefined || retentionText !== undefined)) fail(`--grant and --retention-days go with install; ${USAGE}`)

let database
try {
  database = parseDatabaseUrl(process.env.DATABASE_URL, { poolSize: 1, connectTimeoutMs: 10_000, statementTimeoutMs: 600_000 })
} catch (error) {
  fail((error as Error).message)
}
if (database.dialect === 'sqlite' && parsed.values.grant !== undefined) fail('--grant is for PostgreSQL roles: SQLite has none')

const connection = openDatabase(database, { readonly: false })
const where = describeDatabase(database)
try {
  if (command === 'install') {
    await installCapture(connection, { retentionDays, grantTo: parsed.values.grant })
    const status = await readCaptureStatus(connection)
    console.log(`installed in ${where}: ${describe(status)}`)
    console.log('A running service notices it within 30 seconds: new walks of the changes feed are exact (meta.exact: true).')
  } else if (command === 'remove') {
    await removeCapture(connection)
    console.log(`removed from ${where}: the changes feed is plain again (meta.exact: false) within 30 seconds.`)
  } else {
    const status = await readCaptureStatus(connection)
    console.log(status.state === 'installed' ? `installed: ${describe(status)}` : `${status.state}${status.state === 'partially installed' ? `: ${missing(status)}` : ''}`)
    process.exitCode = status.state === 'installed' ? 0 : 3
  }
} catch (error) {
  // The database's own words (not the tables' owner, a lock not granted in time), without a stack.
  const message = (error as Error).message
  await connection.destroy().catch(() => {})
  fail(`${command} failed in ${where}: ${message}${/owner|permission/i.test(message) ? " (run it as the tables' owner)" : ''}`)
}
await connection.destroy()

function describe(status: CaptureStatus): string {
  if (!status.readable) return 'this role may not read its log (install again with --grant <the service\'s role>, as the owner)'
  return `version ${status.version}, entries kept ${status.retentionDays} days`
}

function missing(status: CaptureStatus): string {
  const { found, expected } = status
  return `found ${found.tables} of ${expected.tables} tables, ${found.functions} of ${expected.functions} functions, ${found.triggers} of ${expected.triggers} triggers; install again, or remove`
}
