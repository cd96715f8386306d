// The test command (`npm test`): type-check, then the whole spec suite against SQLite and against
// PostgreSQL (a throwaway cluster unless TEST_DATABASE_URL names one). Ends with one plain line
// `N passed, N failed` for CI. Arguments are passed on to `bun test` (e.g. a path filter).
import { INSTALL_HINT, startThrowawayPostgres, type ThrowawayPostgres } from './postgres.ts'

const bunBin = process.execPath
const args = process.argv.slice(2)
// Specs named (`npm test -- spec/x.spec.ts`): still the whole check, as CI runs it (both databases
// differ, and the type check covers what the named specs import), but say what this costs and how to
// go faster while working. Nothing is skipped on its own: nearly every spec runs on both dialects.
const TAKES_A_VALUE = new Set(['-t', '--test-name-pattern', '--timeout', '--rerun-each', '--preload', '--reporter', '--reporter-outfile', '--coverage-reporter', '--coverage-dir', '--seed'])
const named = args.filter((arg, index) => !arg.startsWith('-') && !TAKES_A_VALUE.has(args[index - 1] ?? ''))
const QUICK = `DIALECTS=sqlite node_modules/.bin/bun test ${named.join(' ')}`
if (named.length > 0) console.log(`Named specs: the type check and a PostgreSQL start come first. While you work, \`${QUICK}\` runs them on SQLite alone, in seconds (docs/development.md).`)
const phases: string[] = []
const since = (started: number) => `${((performance.now() - started) / 1000).toFixed(0)} s`

let started = performance.now()
const typecheck = Bun.spawn([bunBin, 'x', 'tsc', '--noEmit'], { stdout: 'inherit', stderr: 'inherit' })
const typecheckCode = await typecheck.exited
phases.push(`the type check ${since(started)}`)
if (typecheckCode !== 0) {
  console.log('type check failed')
  console.log('0 passed, 1 failed')
  process.exit(1)
}

let postgres: ThrowawayPostgres | undefined
let databaseUrl = process.env.TEST_DATABASE_URL?.trim() || undefined
const wantsPostgres = (process.env.DIALECTS ?? 'sqlite,postgres').includes('postgres')
if (!databaseUrl && wantsPostgres) {
  try {
    started = performance.now()
    postgres = await startThrowawayPostgres()
    databaseUrl = postgres.url
    phases.push(`PostgreSQL's start ${since(started)}`)
    console.log(`throwaway PostgreSQL on port ${postgres.port}`)
  } catch (error) {
    const message = (error as Error).message
    if (process.env.CI) {
      console.error(message)
      console.log('0 passed, 1 failed')
      process.exit(1)
    }
    console.warn(`\n*** PostgreSQL specs skipped: ${message === INSTALL_HINT ? INSTALL_HINT : message}\n`)
  }
}

const stopPostgres = async () => {
  await postgres?.stop()
  postgres = undefined
}
// Interrupted (Ctrl-C, or a CI runner's SIGTERM through npm, which execs this script): the
// throwaway cluster goes too.
process.on('SIGINT', () => void stopPostgres().then(() => process.exit(130)))
process.on('SIGTERM', () => void stopPostgres().then(() => process.exit(143)))

// Bun reads no default timeout from bunfig.toml: 60 s a spec unless the arguments say otherwise
// (starting processes and seeding a throwaway PostgreSQL on a loaded machine exceed Bun's 5 s).
const timeout = args.some((arg) => arg.startsWith('--timeout')) ? [] : ['--timeout', '60000']
const child = Bun.spawn([bunBin, 'test', ...timeout, ...args], {
  env: { ...process.env, ...(databaseUrl ? { TEST_DATABASE_URL: databaseUrl } : {}) },
  stdout: 'pipe',
  stderr: 'pipe',
})

// Tee bun's output and keep its closing counts.
let transcript = ''
async function pump(stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) {
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const text = decoder.decode(read.value, { stream: true })
    transcript += text
    sink.write(text)
  }
}
await Promise.all([pump(child.stdout, process.stdout), pump(child.stderr, process.stderr)])
const code = await child.exited
await stopPostgres()

// bun test closes with lines ` 12 pass`, ` 0 fail`, ` 1 skip`: the last of each is the total.
const count = (word: string) => Number([...transcript.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\s*$`, 'gm'))].pop()?.[1] ?? 0)
const passed = count('pass')
let failed = count('fail')
const skipped = count('skip')
if (code !== 0 && failed === 0) failed = 1 // bun failed outside any test (an error while loading a file)
if (named.length > 0) console.log(`(of this run: ${phases.join(', ')}; \`${QUICK}\` skips both)`)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(code === 0 && failed === 0 ? 0 : 1)
