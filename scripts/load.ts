// Load generation shared by the benchmark and the soak: wrk (Debian's) driven by a Lua script
// that sends random, valid queries (drawn as it goes, or from a pool a baseline replays too), each
// thread with a seed of its own derived from the run's, with every response status counted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface RandomQueries {
  readonly token: string
  /** Unix seconds: queries ask 30-day windows within the `days` before this. */
  readonly anchorSeconds: number
  readonly days: number
  readonly vbetAccountIds: readonly number[]
  /** The run's seed (newLoadSeed()): each wrk thread draws from seed + its number, so no two threads send the same sequence. */
  readonly seed: number
}

/** A seed for one run of the load, different each run: printed with the run's figures, and given back (`--seed`) to replay it. */
export function newLoadSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % 1_000_000_000
}

/** A thread's own seed within a run: the same derivation in Lua (below) and in TypeScript (a pool drawn here, the reports). */
export const threadSeed = (seed: number, thread: number) => seed + thread * 7919

/**
 * The Lua every script shares: each thread numbered in setup() and seeded in init() with
 * threadSeed(seed, its number) (the same seed in every thread made every thread send the same
 * requests); its number sent as x-load-thread (a spec tells the threads' sequences apart by it);
 * every response status counted; the threads' seeds and the counts printed by done().
 */
function threadedLua(seed: number, token: string, requestBody: string): string {
  return `local seed = ${seed}
local token = "${token}"
-- Counts per status, as plain numbers: wrk copies only scalars between its threads.
local codes = { 200, 401, 404, 422, 429, 500, 503 }
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end
function init()
  thread_seed = seed + thread_number * 7919
  math.randomseed(thread_seed)
  for _, code in ipairs(codes) do _G["c" .. code] = 0 end
  cother = 0
end
local function get(path)
  return wrk.format("GET", path, { ["api_access_token"] = token, ["x-load-thread"] = tostring(thread_number) })
end
${requestBody}
response = function(status)
  local name = "c" .. status
  if _G[name] ~= nil then _G[name] = _G[name] + 1 else cother = cother + 1 end
end
function done()
  local seeds = {}
  for _, thread in ipairs(threads) do table.insert(seeds, tostring(thread:get("thread_seed"))) end
  io.write("seeds " .. seed .. " " .. table.concat(seeds, " ") .. "\\n")
  for _, code in ipairs(codes) do
    local n = 0
    for _, thread in ipairs(threads) do n = n + (thread:get("c" .. code) or 0) end
    if n > 0 then io.write("status " .. code .. " " .. n .. "\\n") end
  end
  local other = 0
  for _, thread in ipairs(threads) do other = other + (thread:get("cother") or 0) end
  if other > 0 then io.write("status 0 " .. other .. "\\n") end
end
`
}

/** A wrk script: half the requests all accounts, half one; a 30-day window (one in ten the whole range); pages 1-5; page_size 20 or 100. */
export function randomQueriesLua(q: RandomQueries): string {
  const day = 86_400
  return threadedLua(
    q.seed,
    q.token,
    `local base, day, days = ${q.anchorSeconds - q.days * day}, ${day}, ${q.days}
local accounts = { ${q.vbetAccountIds.join(', ')} }
request = function()
  local q = {}
  if math.random(2) == 1 then q[#q + 1] = "account_id=" .. accounts[math.random(#accounts)] end
  if math.random(10) > 1 then
    local since = base + math.random(0, math.max(0, days - 30)) * day
    q[#q + 1] = "since=" .. since .. "&until=" .. (since + 30 * day - 1)
  end
  local size = math.random(5) == 1 and 100 or 20
  q[#q + 1] = "page=" .. math.random(5) .. "&page_size=" .. size
  return get("/api/v1/kpi/conversations?" .. table.concat(q, "&"))
end`,
  )
}

/**
 * A wrk script that sends requests drawn from `paths` (each a path with its query), uniformly, each
 * thread with its own seed: the same pool a baseline replays (scripts/bench-replay.ts), so both
 * sides do the same work.
 */
export function pooledQueriesLua(pool: { readonly token: string; readonly paths: readonly string[]; readonly seed: number }): string {
  return threadedLua(
    pool.seed,
    pool.token,
    `local paths = { ${pool.paths.map((path) => JSON.stringify(path)).join(', ')} }
request = function()
  return get(paths[math.random(#paths)])
end`,
  )
}

/**
 * The benchmark's query distribution (as randomQueriesLua's), drawn here from `seed` (mulberry32):
 * `count` request paths, for a pool both wrk (pooledQueriesLua) and pgbench replay.
 */
export function randomQueryPaths(q: Omit<RandomQueries, 'token'>, count: number): string[] {
  const day = 86_400
  let state = q.seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [low, high], as Lua's math.random(low, high). */
  const random = (low: number, high: number) => low + Math.floor(next() * (high - low + 1))
  const base = q.anchorSeconds - q.days * day
  return Array.from({ length: count }, () => {
    const parts: string[] = []
    if (random(1, 2) === 1) parts.push(`account_id=${q.vbetAccountIds[random(1, q.vbetAccountIds.length) - 1]}`)
    if (random(1, 10) > 1) {
      const since = base + random(0, Math.max(0, q.days - 30)) * day
      parts.push(`since=${since}&until=${since + 30 * day - 1}`)
    }
    const size = random(1, 5) === 1 ? 100 : 20
    parts.push(`page=${random(1, 5)}&page_size=${size}`)
    return `/api/v1/kpi/conversations?${parts.join('&')}`
  })
}

export interface WrkResult {
  readonly requestsPerSecond: number
  /** The run's seed and each thread's, as the script printed them. */
  readonly seeds: { readonly run: number; readonly threads: readonly number[] }
  readonly statuses: Record<number, number>
  readonly socketErrors: number
  readonly p50: string
  readonly p99: string
  readonly output: string
}

export function findWrk(): string | undefined {
  return Bun.which('wrk') ?? undefined
}

export async function runWrk(url: string, lua: string, options: { connections: number; seconds: number; workDir: string }): Promise<WrkResult> {
  const wrk = findWrk()
  if (!wrk) throw new Error('wrk not found: apt-get install -y wrk')
  const script = join(options.workDir, `load-${process.pid}-${Date.now()}.lua`)
  await Bun.write(script, lua)
  const child = Bun.spawn([wrk, '-t', '2', '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', '10s', '--latency', '-s', script, url], {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  const output = out + err
  const statuses: Record<number, number> = {}
  // Status 0 stands for any status the script does not name.
  for (const [, status, n] of output.matchAll(/^status (\d+) (\d+)$/gm)) statuses[Number(status)] = Number(n)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const seeds = /^seeds (\d+)((?: \d+)*)$/m.exec(output)
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    seeds: { run: Number(seeds?.[1] ?? NaN), threads: (seeds?.[2] ?? '').trim().split(' ').filter(Boolean).map(Number) },
    statuses,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    p50: /50%\s+([\d.]+\w+)/.exec(output)?.[1] ?? '?',
    p99: /99%\s+([\d.]+\w+)/.exec(output)?.[1] ?? '?',
    output,
  }
}

/** The resident set of a process, in MB (Linux). */
export function rssMegabytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** How many milliseconds a clock tick of /proc's CPU times is (USER_HZ, 100 on Linux unless built otherwise). */
let msPerTick: number | undefined
function tickMs(): number {
  return (msPerTick ??= 1000 / (Number(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()) || 100))
}

/** The fields of /proc/PID/stat after the command's closing parenthesis: state [0], ppid [1], …, utime [11], stime [12], cutime [13], cstime [14]. */
function statFields(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ')
}

/**
 * The CPU time (user and system) a process has used, in ms (Linux); with `ended`, also what it
 * counted of its children that ended (a server's finished backends).
 */
export function cpuMilliseconds(pid: number, options: { ended?: boolean } = {}): number {
  const fields = statFields(pid)
  const ticks = Number(fields[11]) + Number(fields[12]) + (options.ended ? Number(fields[13]) + Number(fields[14]) : 0)
  return ticks * tickMs()
}

/** The parent of a process (Linux), or undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    return Number(statFields(pid)[1])
  } catch {
    return undefined
  }
}
