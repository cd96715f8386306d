// Swagger UI at /swagger and the OpenAPI document at /swagger/json, generated from the routes'
// TypeBox schemas by @elysiajs/swagger. The plugin's page loads Swagger UI from a public CDN,
// which the networks this service runs in often cannot reach; so /swagger is answered with the
// same page pointing at Swagger UI's files served from this project's own swagger-ui-dist
// (swagger-assets.ts: embedded in the compiled executable).
import { swagger } from '@elysiajs/swagger'
import { Elysia } from 'elysia'
import { finishOpenApi, type DocumentDocs } from './openapi.ts'
import { SWAGGER_UI_ASSETS } from './swagger-assets.ts'

export const SWAGGER_PATH = '/swagger'
export const API_TOKEN_SCHEME = 'api_access_token'
export const API_TOKEN_DASHED_SCHEME = 'api_access_token_dashed'
/** An operation's security: either spelling of the token header. */
export const API_TOKEN_SECURITY: Array<Record<string, string[]>> = [{ [API_TOKEN_SCHEME]: [] }, { [API_TOKEN_DASHED_SCHEME]: [] }]
export const OPENAPI_PATH = '/swagger/json'
const ASSETS_PATH = '/swagger/assets'

export interface DocsInfo {
  readonly title: string
  readonly version: string
  readonly description: string
  /** What the finishing step adds: responses' descriptions, examples and headers, parameters (see openapi.ts). */
  readonly document: DocumentDocs
}

/**
 * What the page may load: its own scripts, styles and images, and requests to this service only;
 * no frame may embed it (clickjacking the Authorize dialog). Swagger UI draws icons from data:
 * URIs; nothing else, and no inline script.
 */
export const SWAGGER_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

const INIT_SCRIPT = 'swagger-init.js'

/**
 * Swagger UI's start-up, served as a file (the CSP allows no inline script). The token typed into
 * Authorize lives in the page's memory only, unless the user opts in with
 * `?persist_authorization=true`: then Swagger UI keeps it in localStorage across reloads.
 */
function initScript(): string {
  const options = {
    url: OPENAPI_PATH,
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
  }
  return `window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(options)}, {
  persistAuthorization: new URLSearchParams(window.location.search).get('persist_authorization') === 'true',
}))
`
}

function page(info: DocsInfo): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>${escapeHtml(info.title)}</title>
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" />
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}/${INIT_SCRIPT}"></script>
</body>
</html>`
}

/** A docs path without its trailing slashes: /swagger/ is /swagger, /swagger/json/ is /swagger/json. */
function docsPath(request: Request): string {
  return new URL(request.url).pathname.replace(/(.)\/+$/, '$1')
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function swaggerDocs(info: DocsInfo) {
  const html = page(info)
  const init = initScript()
  return new Elysia({ name: 'docs.swagger' })
    .onRequest(({ request }) => {
      // Answered before routing, so the plugin's CDN page is never served, with or without the slash.
      if ((request.method === 'GET' || request.method === 'HEAD') && docsPath(request) === SWAGGER_PATH) {
        return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': SWAGGER_UI_CSP } })
      }
    })
    .onAfterHandle({ as: 'global' }, ({ request, response }) => {
      // The plugin's document, finished into valid OpenAPI 3.1 (openapi.ts says what that takes).
      if (docsPath(request) === OPENAPI_PATH) return Response.json(finishOpenApi(response, info.document))
    })
    .use(
      swagger({
        provider: 'swagger-ui',
        path: SWAGGER_PATH,
        specPath: OPENAPI_PATH,
        exclude: [SWAGGER_PATH, OPENAPI_PATH, new RegExp(`^${ASSETS_PATH}/`)],
        documentation: {
          info: {
            title: info.title,
            version: info.version,
            description: info.description,
            contact: { name: 'The maintainers of the KPI Conversations API' },
            // Internal software: no open-source licence; an SPDX LicenseRef names it as such.
            // (OpenAPI 3.1's `identifier`: the plugin's types are 3.0's.)
            license: { name: 'Proprietary, internal use only', identifier: 'LicenseRef-Proprietary' } as { name: string },
          },
          // Relative: requests go to whichever host served this document (the demo, a deployment).
          servers: [{ url: '/', description: 'The service that serves this document' }],
          tags: [
            { name: 'KPI', description: 'Conversation data of the VBET accounts' },
            { name: 'Operations', description: 'Liveness and readiness, for orchestrators and load balancers; no token. (Metrics are on the admin listener, ADMIN_PORT.)' },
          ],
          components: {
            securitySchemes: {
              [API_TOKEN_SCHEME]: {
                type: 'apiKey',
                in: 'header',
                name: 'api_access_token',
                description: 'The KPI tracker user\'s access token.',
              },
              [API_TOKEN_DASHED_SCHEME]: {
                type: 'apiKey',
                in: 'header',
                name: 'api-access-token',
                description: 'The same token under the spelling some proxies keep (they drop headers with underscores). Either header is enough.',
              },
            },
          },
        },
      }),
    )
    .get(
      `${ASSETS_PATH}/:file`,
      ({ params, set }) => {
        if (params.file === INIT_SCRIPT) return new Response(init, { headers: { 'content-type': 'text/javascript; charset=utf-8' } })
        const asset = Object.hasOwn(SWAGGER_UI_ASSETS, params.file) ? SWAGGER_UI_ASSETS[params.file] : undefined
        if (asset === undefined) {
          set.status = 404
          return { error: 'Resource could not be found' }
        }
        return new Response(Bun.file(asset.path), {
          headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=86400' },
        })
      },
      { detail: { hide: true } },
    )
}
