// Swagger UI at /swagger and the OpenAPI document at /swagger/json, generated from the routes'
// TypeBox schemas by @elysiajs/swagger. The plugin's page loads Swagger UI from a public CDN,
// which the networks this service runs in often cannot reach; so /swagger is answered with the
// same page pointing at Swagger UI's files served from this project's own swagger-ui-dist.
import { swagger } from '@elysiajs/swagger'
import { Elysia } from 'elysia'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { finishOpenApi, type OperationDocs } from './openapi.ts'

export const SWAGGER_PATH = '/swagger'
export const OPENAPI_PATH = '/swagger/json'
const ASSETS_PATH = '/swagger/assets'

const ASSET_DIR = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')))
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

export interface DocsInfo {
  readonly title: string
  readonly version: string
  readonly description: string
  /** Descriptions and examples of the operations' responses (see openapi.ts). */
  readonly operations: OperationDocs
}

function page(info: DocsInfo): string {
  const options = {
    url: OPENAPI_PATH,
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
  }
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
  <script>window.ui = SwaggerUIBundle(${JSON.stringify(options)})</script>
</body>
</html>`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function swaggerDocs(info: DocsInfo) {
  const html = page(info)
  return new Elysia({ name: 'docs.swagger' })
    .onRequest(({ request }) => {
      // Answered before routing, so the plugin's CDN page is never served.
      if (request.method === 'GET' && new URL(request.url).pathname === SWAGGER_PATH) {
        return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } })
      }
    })
    .onAfterHandle({ as: 'global' }, ({ request, response }) => {
      // The plugin's document, finished into valid OpenAPI 3.1 (openapi.ts says what that takes).
      if (new URL(request.url).pathname === OPENAPI_PATH) return Response.json(finishOpenApi(response, info.operations))
    })
    .use(
      swagger({
        provider: 'swagger-ui',
        path: SWAGGER_PATH,
        specPath: OPENAPI_PATH,
        exclude: [SWAGGER_PATH, OPENAPI_PATH, new RegExp(`^${ASSETS_PATH}/`)],
        documentation: {
          info: { title: info.title, version: info.version, description: info.description },
          tags: [{ name: 'KPI', description: 'Conversation data of the VBET accounts' }],
          components: {
            securitySchemes: {
              api_access_token: {
                type: 'apiKey',
                in: 'header',
                name: 'api_access_token',
                description: 'The KPI tracker user\'s access token (the platform also reads the api-access-token spelling).',
              },
            },
          },
        },
      }),
    )
    .get(
      `${ASSETS_PATH}/:file`,
      ({ params, set }) => {
        const type = ASSETS[params.file]
        if (type === undefined) {
          set.status = 404
          return { error: 'Resource could not be found' }
        }
        return new Response(Bun.file(join(ASSET_DIR, params.file)), {
          headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' },
        })
      },
      { detail: { hide: true } },
    )
}
