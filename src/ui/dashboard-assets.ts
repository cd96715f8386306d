// The dashboard's files, as Bun's compiler embeds them (like src/docs/swagger-assets.ts): an import
// `with { type: 'file' }` is the file's path, on disk when run from source, inside the executable
// when compiled, read with Bun.file. uPlot comes from its npm package; the page's own script is
// TypeScript (checked by tsc with the rest), transpiled by Bun when first served.
import uplotScript from 'uplot/dist/uPlot.iife.min.js' with { type: 'file' }
import uplotStyle from 'uplot/dist/uPlot.min.css' with { type: 'file' }
import pageStyle from './dashboard.css' with { type: 'file' }
// A TypeScript module imported as a file: its path is the default export, which TypeScript, not
// knowing the import attribute, types as the module's namespace (hence the cast).
import * as pageScript from './dashboard.client.ts' with { type: 'file' }

export interface DashboardAsset {
  /** Where Bun.file reads it: a file on disk, or one embedded in the executable. */
  readonly path: string
  readonly contentType: string
  /** TypeScript to transpile for the browser before it is served. */
  readonly transpile?: boolean
}

/** The files the page loads, by the name it loads them under. */
export const DASHBOARD_ASSETS: Readonly<Record<string, DashboardAsset>> = {
  'uPlot.iife.min.js': { path: uplotScript, contentType: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: uplotStyle, contentType: 'text/css; charset=utf-8' },
  'dashboard.css': { path: pageStyle, contentType: 'text/css; charset=utf-8' },
  'dashboard.js': { path: (pageScript as unknown as { default: string }).default, contentType: 'text/javascript; charset=utf-8', transpile: true },
}
