// What `npm start` loads before it knows it needs it: the demo data set's generator (faker, about
// 24 MB of resident memory) must load only when the demo database is used, never in a deployment.
import { describe, expect, test } from 'bun:test'
import { dirname, join, resolve } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')
const transpiler = new Bun.Transpiler({ loader: 'ts' })

/** Every module reached from `entry` through static imports (dynamic import() is left out: it loads on demand). */
async function staticGraph(entry: string): Promise<Set<string>> {
  const seen = new Set<string>()
  const visit = async (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    if (!file.startsWith('/') || !file.endsWith('.ts')) return // a package (its name is enough), or data such as package.json
    const source = await Bun.file(file).text()
    for (const { path, kind } of transpiler.scanImports(source)) {
      if (kind !== 'import-statement') continue
      await visit(path.startsWith('.') ? resolve(dirname(file), path) : path)
    }
  }
  await visit(entry)
  return seen
}

describe('npm start', () => {
  test('loads the demo data set (and faker) only for the demo database', async () => {
    const graph = await staticGraph(join(ROOT, 'scripts/start.ts'))
    expect(graph.has(join(ROOT, 'src/server.ts'))).toBe(true) // the walk follows the imports
    expect([...graph].filter((module) => /faker|fixtures\//.test(module))).toEqual([])
  })
})
