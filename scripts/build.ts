// `npm run build` (`bun scripts/build.ts [--outfile dist/kpi-conversations]`): the service as one
// executable for linux-x64, made by Bun's compiler (`bun build --compile`) from scripts/start.ts.
// In it: the Bun runtime, the code and its packages, Swagger UI's files (src/docs/swagger-assets.ts)
// and the OpenAPI document (generated from the routes as the service runs), and the demo's data
// generator (faker; loaded only with --demo). It reads its configuration from its environment only:
// no .env file and no bunfig.toml from the directory it is started in.
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = join(import.meta.dir, '..')

const { values } = parseArgs({
  options: {
    outfile: { type: 'string', default: join(ROOT, 'dist', 'kpi-conversations') },
  },
})
const outfile = values.outfile!

const started = performance.now()
const result = await Bun.build({
  entrypoints: [join(ROOT, 'scripts', 'start.ts')],
  compile: {
    target: 'bun-linux-x64',
    outfile,
    // A deployment's configuration is its environment (systemd's EnvironmentFile, a container's
    // env): a stray .env or bunfig.toml in the working directory must not change it.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  // Measured on this machine against the unminified build: 0.9 MB smaller and a start to /ready
  // of about 0.8x. Bytecode (`bytecode: true`) started faster still (about 0.8x again) but made the
  // file 5.6 MB larger and the idle service 2-4 MB larger in memory: not kept.
  minify: true,
  // Stack traces of a defect name the source files and lines: the compiler puts the source map
  // inside the executable (and writes a copy beside it, removed below: one file is the artefact).
  sourcemap: 'linked',
})
if (!result.success) {
  for (const message of result.logs) console.error(message)
  process.exit(1)
}
rmSync(`${outfile}.map`, { force: true })
const mebibytes = (statSync(outfile).size / 1_048_576).toFixed(1)
console.log(`built ${outfile} (${mebibytes} MiB, linux-x64) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
