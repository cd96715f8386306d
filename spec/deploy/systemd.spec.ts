// deploy/kpi-conversations.service, checked by systemd itself: `systemd-analyze verify` in a root
// laid out as docs/deployment.md installs it (the unit, the executable of `npm run build`, systemd's
// own units), with nothing reported; and the hardening a read-only network service allows, kept.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { builtExecutable } from '../executable.ts'
import { REMOTE_BASE_URL } from '../setup.ts'

const ROOT = join(import.meta.dir, '..', '..')
const UNIT = 'kpi-conversations.service'
const SYSTEMD_UNITS = '/usr/lib/systemd/system'
const analyze = Bun.which('systemd-analyze')

if (!analyze && !REMOTE_BASE_URL) {
  if (process.env.CI) throw new Error('CI must check the systemd unit: install Debian\'s systemd (systemd-analyze)')
  console.warn('\n*** the systemd unit spec is skipped: no systemd-analyze (apt-get install -y systemd)\n')
}

describe.skipIf(!analyze || REMOTE_BASE_URL !== undefined)(`deploy/${UNIT}`, () => {
  const root = mkdtempSync(join(tmpdir(), 'kpi-systemd-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  const run = async (...args: string[]) => {
    const child = Bun.spawn([analyze!, ...args], { stdout: 'pipe', stderr: 'pipe' })
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
    return { code, output: (out + err).trim() }
  }

  beforeAll(async () => {
    // As installed: the unit in /etc/systemd/system, the executable in /usr/local/bin, systemd's units.
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true })
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true })
    cpSync(join(ROOT, 'deploy', UNIT), join(root, 'etc/systemd/system', UNIT))
    cpSync(await builtExecutable(), join(root, 'usr/local/bin/kpi-conversations'))
    if (existsSync(SYSTEMD_UNITS)) cpSync(SYSTEMD_UNITS, join(root, SYSTEMD_UNITS), { recursive: true })
  }, 120_000)

  test('systemd-analyze verify: valid, the executable where ExecStart says, nothing reported', async () => {
    expect(await run('verify', `--root=${root}`, UNIT)).toEqual({ code: 0, output: '' })
  })

  test('the hardening stays: no privileges, a read-only system, Internet and Unix sockets only, the system-service calls only', async () => {
    const unit = await Bun.file(join(ROOT, 'deploy', UNIT)).text()
    const settings = new Set(unit.split('\n').filter((line) => /^[A-Z]\w+=/.test(line)))
    for (const setting of [
      'ExecStart=/usr/local/bin/kpi-conversations',
      'EnvironmentFile=/etc/kpi-conversations/env',
      'Restart=on-failure',
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service',
    ]) {
      expect({ setting, present: settings.has(setting) }).toEqual({ setting, present: true })
    }
    // JavaScriptCore's JIT writes code and runs it: this would make Bun fall back to its interpreter.
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=yes/m)
    // systemd's own review of the exposure: 1.x is "OK" on its scale of 0 (none) to 10.
    const { code, output } = await run('security', '--offline=true', `--root=${root}`, UNIT)
    expect(code).toBe(0)
    const exposure = Number(/Overall exposure level for kpi-conversations\.service: ([\d.]+)/.exec(output)?.[1])
    expect(exposure).toBeLessThan(2)
  })
})
