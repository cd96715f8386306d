// What a user reads (README.md, docs/, BENCHMARKS.md): the front page stays a front page, every link
// leads to a file (and a heading) inside the repository, and the API reference names every endpoint
// the OpenAPI document declares.
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')
const PAGES = ['README.md', 'BENCHMARKS.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-')
}

async function anchorsOf(file: string): Promise<Set<string>> {
  const text = await Bun.file(file).text()
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1]!)))
}

/** Markdown links and images outside code blocks: `[text](target)`. */
function linksOf(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '')
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
}

describe('the documentation', () => {
  test('README.md is a front page: under 12 KB, with the two commands and a link to each topic in docs/', async () => {
    const readme = await Bun.file(join(ROOT, 'README.md')).text()
    expect(Buffer.byteLength(readme)).toBeLessThan(12 * 1024)
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
    const topics = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'))
    expect(topics.filter((name) => !readme.includes(`](docs/${name})`))).toEqual([])
  })

  test('BENCHMARKS.md is a report: the current table and its method first, in under 12 KB; the levers measured; earlier rounds in docs/benchmarks-history.md', async () => {
    const report = await Bun.file(join(ROOT, 'BENCHMARKS.md')).text()
    const head = report.slice(0, report.indexOf('<!-- growth -->'))
    expect(head).toContain('## Method')
    expect(head).toMatch(/^\| measure \| service \| limit \|/m)
    expect(Buffer.byteLength(head)).toBeLessThan(12 * 1024)
    expect(report).toContain('](docs/benchmarks-history.md)')
    // One round's notes after another made it a diary of 55 KB: older rounds live in the history.
    expect(report).not.toMatch(/^## Round (two|three|four|five)/m)
    expect(await Bun.file(join(ROOT, 'docs/benchmarks-history.md')).text()).toMatch(/^## Round five/m)
  })

  for (const page of PAGES) {
    test(`${page}: every link leads to a file inside the repository (and to a heading there)`, async () => {
      const text = await Bun.file(join(ROOT, page)).text()
      const broken: string[] = []
      for (const link of linksOf(text)) {
        if (/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(link)) continue // the running service
        if (/^[a-z]+:/i.test(link)) {
          broken.push(`${link} (outside the repository)`)
          continue
        }
        const [path, anchor] = link.split('#') as [string, string | undefined]
        const target = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path)
        if (relative(ROOT, target).startsWith('..')) broken.push(`${link} (outside the repository)`)
        else if (!existsSync(target)) broken.push(`${link} (no such file)`)
        else if (anchor !== undefined && statSync(target).isFile() && !(await anchorsOf(target)).has(anchor)) broken.push(`${link} (no such heading)`)
      }
      expect(broken).toEqual([])
    })
  }

  test('docs/api.md names every API endpoint of the OpenAPI document', async () => {
    const api = await Bun.file(join(ROOT, 'docs/api.md')).text()
    const document = await Bun.file(join(ROOT, 'openapi.json')).json()
    const endpoints = Object.keys(document.paths).filter((path) => path.startsWith('/api/'))
    expect(endpoints.length).toBeGreaterThan(0)
    expect(endpoints.filter((path) => !api.includes(`| \`GET ${path}\` |`))).toEqual([])
  })
})
