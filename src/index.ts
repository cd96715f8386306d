// The service's entry point and its only side effects: configuration, database, listen, SIGTERM.
import { loadConfig } from './config.ts'
import { ConfigError } from './errors.ts'
import { startServer } from './server.ts'

let service
try {
  service = await startServer(loadConfig(process.env))
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `Cannot start: ${(error as Error).message}`)
  process.exit(1)
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    await service.stop()
    process.exit(0)
  })
}
