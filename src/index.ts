// The service's entry point and its only side effects: configuration, database, listen, SIGTERM.
import { loadConfig } from './config.ts'
import { ConfigError } from './errors.ts'
import { startServer, stopOnSignals } from './server.ts'

let service
try {
  service = await startServer(loadConfig(process.env))
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `Cannot start: ${(error as Error).message}`)
  process.exit(1)
}

stopOnSignals(service)
