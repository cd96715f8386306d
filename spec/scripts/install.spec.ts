// What `npm install` says, kept to what matters: the Node versions package.json states are ones
// every installed package accepts (no EBADENGINE warnings for them), except the libraries that run
// only under Bun, listed below with why; and every install script is decided in allowScripts (no
// install-scripts warning, no script run by default).
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')
const manifest = await Bun.file(join(ROOT, 'package.json')).json()
const lock = await Bun.file(join(ROOT, 'package-lock.json')).json()

/**
 * Packages whose own `engines.node` does not matter here, with the reason. Node runs npm and the dev
 * tools' command lines (Prism, Redocly, Spectral); the service, the specs and the scripts run on Bun.
 */
const RUN_BY_BUN_ONLY: Record<string, string> = {
  kysely: 'the query builder: it runs in the service and the specs, under Bun (0.29 declares Node >=22 for Node users)',
}

/** The lowest version of each range in `^20.19.0 || ^22.13.0 || >=24.0.0`. */
function lowestVersions(range: string): string[] {
  return range.split('||').map((part) => /(\d+\.\d+\.\d+)/.exec(part)![1]!)
}

describe('npm install', () => {
  test('package.json states the Node and Bun it supports', () => {
    expect(manifest.engines.node).toBeString()
    expect(manifest.engines.bun).toBe(`>=${manifest.devDependencies.bun}`)
    expect(Bun.semver.satisfies(process.versions.bun, manifest.engines.bun)).toBe(true)
  })

  test('every installed package accepts the stated Node versions (no EBADENGINE), but for the ones only Bun runs', async () => {
    const versions = lowestVersions(manifest.engines.node)
    expect(versions.length).toBeGreaterThan(0)
    const refusals: string[] = []
    for (const path of Object.keys(lock.packages)) {
      if (path === '' || !existsSync(join(ROOT, path, 'package.json'))) continue
      const installed = await Bun.file(join(ROOT, path, 'package.json')).json()
      const wanted: string | undefined = installed.engines?.node
      if (wanted === undefined || installed.name in RUN_BY_BUN_ONLY) continue
      for (const version of versions) if (!Bun.semver.satisfies(version, wanted)) refusals.push(`${installed.name}@${installed.version} wants node ${wanted}, not ${version}`)
    }
    expect(refusals).toEqual([])
  })

  test('bun\'s install script ran: node_modules/.bin/bun is Bun\'s executable, not the package\'s placeholder', async () => {
    expect(manifest.allowScripts.bun).toBe(true)
    const head = new Uint8Array(await Bun.file(join(ROOT, 'node_modules/.bin/bun')).slice(0, 4).arrayBuffer())
    expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46]) // ELF
  })

  test('every package with an install script is allowed or denied in allowScripts', () => {
    const scripted = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([, info]) => info.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ''))
    expect(scripted.length).toBeGreaterThan(0)
    expect(scripted.filter((name) => !(name in manifest.allowScripts))).toEqual([])
  })
})
