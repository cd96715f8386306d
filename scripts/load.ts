// Load generation shared by the benchmark and the soak: wrk (Debian's) driven by a Lua script
// that sends random, valid queries, with every response status counted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface RandomQueries {
  readonly token: string
  /** Unix seconds: queries ask 30-day windows within the `days` before this. */
  readonly anchorSeconds: number
  readonly days: number
  readonly vbetAccountIds: readonly number[]
  readonly seed?: number
}

/** A wrk script: half the requests all accounts, half one; a 30-day window (one in ten the whole range); pages 1-5; page_size 20 or 100. */
export function randomQueriesLua(q: RandomQueries): string {
  const day = 86_400
  return `math.randomseed(${q.seed ?? 42})
local base, day, days = ${q.anchorSeconds - q.days * day}, ${day}, ${q.days}
local accounts = { ${q.vbetAccountIds.join(', ')} }
-- Counts per status, as plain numbers: wrk copies only scalars between its threads.
local codes = { 200, 401, 404, 422, 429, 500, 503 }
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init()
  for _, code in ipairs(codes) do _G["c" .. code] = 0 end
  cother = 0
end
request = function()
  local q = {}
  if math.random(2) == 1 then q[#q + 1] = "account_id=" .. accounts[math.random(#accounts)] end
  if math.random(10) > 1 then
    local since = base + math.random(0, math.max(0, days - 30)) * day
    q[#q + 1] = "since=" .. since .. "&until=" .. (since + 30 * day - 1)
  end
  local size = math.random(5) == 1 and 100 or 20
  q[#q + 1] = "page=" .. math.random(5) .. "&page_size=" .. size
  return wrk.format("GET", "/api/v1/kpi/conversations?" .. table.concat(q, "&"), { ["api_access_token"] = "${q.token}" })
end
response = function(status)
  local name = "c" .. status
  if _G[name] ~= nil then _G[name] = _G[name] + 1 else cother = cother + 1 end
end
function done()
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

export interface WrkResult {
  readonly requestsPerSecond: number
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
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
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
