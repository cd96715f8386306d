// `npm start`: the service. With DATABASE_URL unset it uses the embedded SQLite demo database,
// creating and seeding it on first start, and prints how to try it. With DATABASE_URL set it only
// reads that database and changes nothing.
import { loadConfig } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'
import { startServer, stopOnSignals } from '../src/server.ts'

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exit(1)
}

const isDemo = config.database.dialect === 'sqlite' && config.database.isEmbeddedDefault
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
