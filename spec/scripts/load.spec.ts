// scripts/load.ts against a recording server: wrk's threads send sequences of their own (each its
// own seed, derived from the run's), another run's seed sends other requests, and a run's seed
// given again replays its requests, thread by thread. Both scripts: drawn as they go, and from a pool.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findWrk, newLoadSeed, pooledQueriesLua, randomQueriesLua, randomQueryPaths, runWrk, threadSeed } from '../../scripts/load.ts'

const TOKEN = 'load-spec-token'
const QUERIES = { anchorSeconds: 1_767_225_600, days: 365, vbetAccountIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }

describe.skipIf(!findWrk())('scripts/load.ts: seeds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpi-load-spec-'))
  /** The requests of the current run, by wrk thread, in the order each thread sent them. */
  let seen = new Map<string, string[]>()
  let tokens = new Set<string | null>()
  let server: ReturnType<typeof Bun.serve>
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(request) {
        const thread = request.headers.get('x-load-thread') ?? '?'
        tokens.add(request.headers.get('api_access_token'))
        const url = new URL(request.url)
        seen.set(thread, [...(seen.get(thread) ?? []), url.pathname + url.search])
        return new Response('{}', { headers: { 'content-type': 'application/json' } })
      },
    })
  })
  afterAll(() => {
    server.stop(true)
    rmSync(dir, { recursive: true, force: true })
  })

  /** One short run of `lua` (two threads, one connection each): each thread's first requests, and what wrk printed of the seeds. */
  const run = async (lua: string) => {
    seen = new Map()
    tokens = new Set()
    const result = await runWrk(`http://127.0.0.1:${server.port}/`, lua, { connections: 2, seconds: 1, workDir: dir })
    expect(result.statuses[200]).toBeGreaterThan(40)
    expect(tokens).toEqual(new Set([TOKEN]))
    expect([...seen.keys()].sort()).toEqual(['1', '2'])
    const first = (thread: string) => seen.get(thread)!.slice(0, 40)
    return { one: first('1'), two: first('2'), seeds: result.seeds }
  }
  /**
   * How many of `a`'s first 20 requests `b` sends among its first 40. Sequences drawn from one
   * seed share nearly all (wrk draws a request more in one thread than in the other before it
   * starts, so one is the other shifted); from two seeds next to none (a pool of 200 shares a few).
   */
  const shared = (a: readonly string[], b: readonly string[]) => a.slice(0, 20).filter((path) => b.includes(path)).length

  for (const [name, script] of [
    ['drawn as they go', (seed: number) => randomQueriesLua({ token: TOKEN, ...QUERIES, seed })],
    ['from a pool', (seed: number) => pooledQueriesLua({ token: TOKEN, paths: randomQueryPaths({ ...QUERIES, seed: 1 }, 200), seed })],
  ] as const) {
    test(`${name}: threads differ, runs differ, a seed given again replays its run`, async () => {
      const seed = newLoadSeed()
      const other = seed + 1
      const first = await run(script(seed))
      expect(first.seeds).toEqual({ run: seed, threads: [threadSeed(seed, 1), threadSeed(seed, 2)] })
      // The two threads send sequences of their own (the same seed in both sent the same requests).
      expect(shared(first.one, first.two)).toBeLessThan(8)
      const second = await run(script(other))
      expect(second.seeds.run).toBe(other)
      expect(shared(second.one, first.one)).toBeLessThan(8)
      expect(shared(second.two, first.two)).toBeLessThan(8)
      const replayed = await run(script(seed))
      expect(replayed.one).toEqual(first.one)
      expect(replayed.two).toEqual(first.two)
    }, 30_000)
  }

  test('newLoadSeed: another seed each run', () => {
    expect(new Set(Array.from({ length: 20 }, newLoadSeed)).size).toBe(20)
  })

  test("the pool follows the load's distribution: half one account, a tenth the whole range, a fifth 100 a page, pages 1-5", () => {
    const paths = randomQueryPaths({ ...QUERIES, seed: 7 }, 4000)
    const share = (pattern: RegExp) => paths.filter((path) => pattern.test(path)).length / paths.length
    expect(share(/account_id=/)).toBeCloseTo(0.5, 1)
    expect(share(/since=/)).toBeCloseTo(0.9, 1)
    expect(share(/page_size=100/)).toBeCloseTo(0.2, 1)
    expect(new Set(paths.map((path) => /page=(\d)/.exec(path)![1]))).toEqual(new Set(['1', '2', '3', '4', '5']))
    // Drawn from the seed: the same seed, the same pool; another, another.
    expect(randomQueryPaths({ ...QUERIES, seed: 7 }, 50)).toEqual(paths.slice(0, 50))
    expect(randomQueryPaths({ ...QUERIES, seed: 8 }, 50)).not.toEqual(paths.slice(0, 50))
  })
})
