// Swagger UI's files, from this project's swagger-ui-dist, as Bun's compiler embeds files: an
// import `with { type: 'file' }` is the file's path (on disk when run from source, inside the
// executable when compiled), read with Bun.file. No path is worked out at run time, so
// `bun build --compile` sees every file the page needs and puts it in the executable.
import css from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import bundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import favicon from 'swagger-ui-dist/favicon-32x32.png' with { type: 'file' }

export interface Asset {
  /** Where Bun.file reads it: a file on disk, or one embedded in the executable. */
  readonly path: string
  readonly contentType: string
}

/** The files the page loads, by the name it loads them under. */
export const SWAGGER_UI_ASSETS: Readonly<Record<string, Asset>> = {
  'swagger-ui.css': { path: css, contentType: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { path: bundle, contentType: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { path: favicon, contentType: 'image/png' },
}
