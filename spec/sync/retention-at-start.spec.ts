// The service refuses to start when CHANGES_RETENTION_DAYS is longer than the change capture keeps
// its log (an exact cursor would then outlive the entries it needs and lose them silently); with
// the same or a shorter retention it starts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/dialect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { installCapture } from '../../src/sync/capture.ts'
import { localOnly } from '../setup.ts'
import { startService } from '../service-process.ts'

localOnly('the retention check at start: a database of its own')

describe('CHANGES_RETENTION_DAYS against the capture\'s retention, at start', () => {
  const directory = mkdtempSync(join(tmpdir(), 'kpi-retention-'))
  const file = join(directory, 'capture.sqlite')
  beforeAll(async () => {
    const connection = openDatabase({ dialect: 'sqlite', filename: file, isEmbeddedDefault: false }, { readonly: false })
    await migrateToLatest(connection)
    await installCapture(connection, { retentionDays: 7 })
    await connection.destroy()
  })
  afterAll(() => rmSync(directory, { recursive: true, force: true }))

  test('longer than the capture keeps: no start, exit 1, both figures named', async () => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../scripts/start.ts')], {
      env: { ...process.env, DATABASE_URL: `sqlite:${file}`, PORT: '0', CHANGES_RETENTION_DAYS: '30' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    expect(code).toBe(1)
    expect(out + err).toContain('CHANGES_RETENTION_DAYS (30) is longer than the change capture keeps its log (7 days)')
    expect(out + err).not.toContain('"listening"')
  })

  test('the same or shorter: it starts', async () => {
    for (const days of ['7', '2.5']) {
      const service = await startService({ DATABASE_URL: `sqlite:${file}`, CHANGES_RETENTION_DAYS: days })
      expect(await service.stop()).toBe(0)
    }
  })
})
