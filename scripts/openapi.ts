// `bun scripts/openapi.ts`: writes the OpenAPI document the service serves at /swagger/json to
// openapi.json at the project root, where it is committed: a change to the contract is then
// always a visible diff (a spec fails while the two differ). `--check` only compares.
import { join } from 'node:path'
import { createApp } from '../src/app.ts'
import { openDatabase } from '../src/db/dialect.ts'
import { OPENAPI_PATH } from '../src/docs/swagger.ts'

export const OPENAPI_FILE = join(import.meta.dir, '..', 'openapi.json')

/** The served document, as the committed file holds it (2-space JSON, final newline). */
export async function servedOpenApiText(): Promise<string> {
  // The document does not touch the database; an empty in-memory one satisfies createApp.
  const connection = openDatabase({ dialect: 'sqlite', filename: ':memory:', isEmbeddedDefault: false }, { readonly: false })
  try {
    const app = createApp({ connection, config: { kpiTrackerEmail: 'kpi_tracker@vbet.com' } })
    const response = await app.handle(new Request(`http://localhost${OPENAPI_PATH}`))
    return `${JSON.stringify(await response.json(), null, 2)}\n`
  } finally {
    await connection.destroy()
  }
}

if (import.meta.main) {
  const served = await servedOpenApiText()
  const committed = await Bun.file(OPENAPI_FILE).text().catch(() => '')
  if (process.argv.includes('--check')) {
    if (served !== committed) {
      console.error('openapi.json differs from the served document: run `bun scripts/openapi.ts` and commit it')
      process.exit(1)
    }
    console.log('openapi.json is up to date')
  } else {
    await Bun.write(OPENAPI_FILE, served)
    console.log(served === committed ? 'openapi.json unchanged' : 'openapi.json written')
  }
}
