// A cursor outlives the process that issued it when CURSOR_SECRET is set: a walk continues after a
// restart (or on another instance, spec/deploy/topology.spec.ts) where it stood. Without the
// secret, a restarted process refuses the old cursor with 422, as docs/configuration.md warns.
import { describe, expect, test } from 'bun:test'
import { DEMO_TOKEN } from '../../fixtures/demo-data-set.ts'
import { REMOTE_BASE_URL } from '../setup.ts'
import { startService } from '../service-process.ts'

const API = '/api/v1/kpi/conversations'
const SECRET = 'a-cursor-secret-of-forty-characters-0001'

async function firstPageAndCursor(env: Record<string, string>) {
  const service = await startService(env)
  try {
    const response = await fetch(`${service.url}${API}?cursor=&page_size=50`, { headers: { api_access_token: DEMO_TOKEN } })
    const page = (await response.json()) as { meta: { next_cursor: string }; payload: Array<{ id: number }> }
    return { ids: page.payload.map((item) => item.id), cursor: page.meta.next_cursor }
  } finally {
    await service.stop()
  }
}

describe.skipIf(REMOTE_BASE_URL !== undefined)('a cursor across a restart', () => {
  test('with the same CURSOR_SECRET the walk continues where it stood; without one it is 422', async () => {
    const first = await firstPageAndCursor({ CURSOR_SECRET: SECRET })
    const again = await startService({ CURSOR_SECRET: SECRET })
    try {
      const next = await fetch(`${again.url}${API}?cursor=${first.cursor}`, { headers: { api_access_token: DEMO_TOKEN } })
      expect(next.status).toBe(200)
      const ids = ((await next.json()) as { payload: Array<{ id: number }> }).payload.map((item) => item.id)
      expect(ids).toHaveLength(50)
      expect(ids.filter((id) => first.ids.includes(id))).toEqual([])
    } finally {
      await again.stop()
    }
    const unsigned = await firstPageAndCursor({})
    const restarted = await startService({})
    try {
      expect((await fetch(`${restarted.url}${API}?cursor=${unsigned.cursor}`, { headers: { api_access_token: DEMO_TOKEN } })).status).toBe(422)
    } finally {
      await restarted.stop()
    }
  }, 60_000)
})
