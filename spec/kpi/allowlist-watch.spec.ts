// The allowlist as an export in flight sees it: read again once the last reading is older than the
// window (never more often), narrowed only (an account added is not taken in), and the one account
// an export asked for gone is AllowlistRevokedError. A clock of the spec's own: no waiting.
import { describe, expect, test } from 'bun:test'
import { AllowlistRevokedError, UnauthorizedError } from '../../src/errors.ts'
import { ALLOWLIST_RECHECK_MS, watchAllowlist } from '../../src/kpi/allowlist-watch.ts'

function source(initial: number[]) {
  let now = 0
  let list = initial
  let reads = 0
  const read = async () => {
    reads++
    return list
  }
  return {
    read,
    clock: () => now,
    advance: (ms: number) => void (now += ms),
    set: (next: number[]) => void (list = next),
    reads: () => reads,
  }
}

describe('watchAllowlist', () => {
  test('the window is at most a second or two', () => {
    expect(ALLOWLIST_RECHECK_MS).toBeGreaterThan(0)
    expect(ALLOWLIST_RECHECK_MS).toBeLessThanOrEqual(2000)
  })

  test('reads again only once the last reading is older than the window; an account removed is gone from then on', async () => {
    const s = source([3, 5, 7])
    const watch = watchAllowlist(s.read, [3, 5, 7], { maxAgeMs: 1000, clock: s.clock })
    expect([...(await watch())]).toEqual([3, 5, 7])
    s.set([3, 5])
    s.advance(999)
    expect([...(await watch())]).toEqual([3, 5, 7])
    expect(s.reads()).toBe(0)
    s.advance(1)
    expect([...(await watch())]).toEqual([3, 5])
    expect(s.reads()).toBe(1)
    expect([...(await watch())]).toEqual([3, 5])
    expect(s.reads()).toBe(1)
  })

  test('the same Set while nothing is removed (the batches compare cheaply)', async () => {
    const s = source([3, 5])
    const watch = watchAllowlist(s.read, [3, 5], { maxAgeMs: 1000, clock: s.clock })
    const first = await watch()
    s.advance(1000)
    expect(await watch()).toBe(first)
  })

  test('an account added meanwhile is not taken in, and one removed does not come back', async () => {
    const s = source([3, 5])
    const watch = watchAllowlist(s.read, [3, 5], { maxAgeMs: 1000, clock: s.clock })
    s.set([5, 9])
    s.advance(1000)
    expect([...(await watch())]).toEqual([5])
    s.set([3, 5, 9])
    s.advance(1000)
    expect([...(await watch())]).toEqual([5])
  })

  test('onNarrowed is told the accounts removed, each once, up to the last of them', async () => {
    const s = source([3, 5, 7])
    const told: number[][] = []
    const watch = watchAllowlist(s.read, [3, 5, 7], { maxAgeMs: 1000, clock: s.clock, onNarrowed: (removed) => told.push([...removed]) })
    s.advance(1000)
    await watch()
    expect(told).toEqual([])
    s.set([3, 5])
    s.advance(1000)
    await watch()
    s.advance(1000)
    await watch()
    expect(told).toEqual([[7]])
    s.set([])
    s.advance(1000)
    expect([...(await watch())]).toEqual([])
    expect(told).toEqual([[7], [3, 5]])
  })

  test('the one account asked for removed (the read is 401): AllowlistRevokedError naming it', async () => {
    let allowed = true
    const read = async () => {
      if (!allowed) throw new UnauthorizedError('account_id 7 is not a VBET account you may read')
      return [7]
    }
    let now = 0
    const watch = watchAllowlist(read, [7], { maxAgeMs: 1000, clock: () => now })
    allowed = false
    now = 1000
    const error = await watch().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AllowlistRevokedError)
    expect((error as AllowlistRevokedError).accountIds).toEqual([7])
  })

  test('a database failure while reading is passed on (the export retries it as it retries a batch)', async () => {
    let now = 0
    const watch = watchAllowlist(async () => Promise.reject(new Error('connection terminated')), [3], { maxAgeMs: 1000, clock: () => now })
    now = 1000
    await expect(watch()).rejects.toThrow('connection terminated')
  })
})
