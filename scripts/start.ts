// The service's entry point: `npm start` runs it (as `bun scripts/start.ts --demo`), and `npm run
// build` compiles it into the executable `dist/kpi-conversations`. With DATABASE_URL set it only
// reads that database and changes nothing. With DATABASE_URL unset it serves the demo database if
// `--demo` says so (creating and seeding it on first start, and printing how to try it), and
// otherwise refuses to start: a deployment that lost its DATABASE_URL must not look healthy while
// serving made-up data.
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'
import { startServer, stopOnSignals } from '../src/server.ts'

const USAGE = `usage: kpi-conversations [--demo]

Serves the KPI Conversations API on HOST:PORT (127.0.0.1:3000) from the database of DATABASE_URL
(postgres://…). --demo: with DATABASE_URL unset, serve a demo database instead (created with
generated data in data/kpi-conversations.sqlite under the current directory on first start).
Every setting: docs/configuration.md.`

let options
try {
  options = parseArgs({ options: { demo: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }).values
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exit(1)
}

const isDemo = config.database.dialect === 'sqlite' && config.database.isEmbeddedDefault
if (isDemo && !options.demo) {
  console.error(
    'DATABASE_URL is not set: nothing to serve. Set it to the helpdesk database (postgres://…, docs/configuration.md), ' +
      'or add --demo to serve a demo database of generated conversations.',
  )
  process.exit(1)
}
// The demo's data set and its generator (faker, ~24 MB resident) load only for the demo database.
const demo = isDemo ? { ...(await import('./demo.ts')), ...(await import('../fixtures/demo-data-set.ts')) } : undefined
if (demo && config.database.dialect === 'sqlite' && (await demo.ensureDemoDatabase(config.database))) {
  console.log(`Created the demo database ${config.database.filename} with ${demo.DEMO_CONVERSATIONS} conversations.`)
}

const service = await startServer(config).catch((error: Error) => {
  console.error(`Cannot start: ${error.message}`)
  process.exit(1)
})
stopOnSignals(service)

const endpoint = `${service.url}/api/v1/kpi/conversations`
console.log(`
KPI Conversations API
  endpoint:    ${endpoint}
  Swagger UI:  ${service.url}/swagger
  metrics:     ${service.adminUrl}/metrics`)
if (demo) {
  // The demo database's own token, made by the seed; a real database's tokens are never printed.
  console.log(`  demo token:  ${demo.DEMO_TOKEN}

  curl -H "api_access_token: ${demo.DEMO_TOKEN}" "${endpoint}?page_size=2"
`)
}
