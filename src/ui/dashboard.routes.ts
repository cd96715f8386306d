// The dashboard at /dashboard: one page that draws the KPI metrics (conversations per day by
// status, chat_duration and first-response percentiles per day, tables by day, account, assignee
// and label), every figure fetched by the browser from the metrics endpoint with the token typed
// in. Served by the service itself, no CDN: uPlot from its npm package and the page's own files
// (src/ui/dashboard-assets.ts), under the Swagger page's strict Content-Security-Policy. The page
// itself holds no data and needs no token.
import { Elysia } from 'elysia'
import { SWAGGER_UI_CSP } from '../docs/swagger.ts'
import { DASHBOARD_ASSETS } from './dashboard-assets.ts'

export const DASHBOARD_PATH = '/dashboard'
const ASSETS_PATH = '/dashboard/assets'

/** The same policy as Swagger UI's: this service's own scripts, styles and requests only, no inline script or style, no framing. */
export const DASHBOARD_CSP = SWAGGER_UI_CSP

function page(): string {
  const tile = (id: string, label: string) => `<div class="tile"><span>${label}</span><strong id="${id}">–</strong></div>`
  return `<!doctype html>
<html lang="en" data-state="loading">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>KPI conversations: dashboard</title>
  <link rel="stylesheet" href="${ASSETS_PATH}/uPlot.min.css" />
  <link rel="stylesheet" href="${ASSETS_PATH}/dashboard.css" />
</head>
<body>
  <header><h1>KPI conversations</h1><p>every figure from GET /api/v1/kpi/conversations/metrics; every day and account links to its rows</p></header>
  <main>
    <form id="controls" autocomplete="off">
      <label>access token <input id="token" type="password" autocomplete="off" spellcheck="false" size="30" /></label>
      <label>from <input id="from" type="date" required /></label>
      <label>to <input id="to" type="date" required /></label>
      <label>time zone <select id="zone"></select></label>
      <label>account <select id="account"><option value="">all VBET accounts</option></select></label>
      <button type="submit">Show</button>
    </form>
    <p id="status" role="status">Type the KPI tracker's access token and press Show. It stays in this page's memory only.</p>
    <div class="tiles">
      ${tile('tile-conversations', 'conversations')}
      ${tile('tile-resolved', 'resolved')}
      ${tile('tile-chat-p50', 'chat duration p50')}
      ${tile('tile-chat-p90', 'chat duration p90')}
      ${tile('tile-first-p50', 'first reply p50')}
      ${tile('tile-first-p90', 'first reply p90')}
    </div>
    <div id="total-export"></div>
    <div id="charts">
      <h2>Conversations per day, by status</h2><div id="chart-status"></div>
      <h2>Chat duration per day <small>p50 (solid) and p90 (dashed), hours</small></h2><div id="chart-chat"></div>
      <h2>First response per day <small>p50 (solid) and p90 (dashed), minutes</small></h2><div id="chart-first"></div>
    </div>
    <div class="tables">
      <div><h2>By day <small>CSV: that day's conversations</small></h2><div class="scroll" id="table-days"></div></div>
      <div><h2>By account <small>CSV: that account's conversations</small></h2><div class="scroll" id="table-accounts"></div></div>
      <div><h2>By assignee</h2><div class="scroll" id="table-assignees"></div></div>
      <div><h2>By label</h2><div class="scroll" id="table-labels"></div></div>
    </div>
  </main>
  <script src="${ASSETS_PATH}/uPlot.iife.min.js"></script>
  <script type="module" src="${ASSETS_PATH}/dashboard.js"></script>
</body>
</html>`
}

/** Reads an asset's bytes to serve: the file as it is, or TypeScript transpiled for the browser (once). */
const transpiled = new Map<string, Promise<string>>()
function assetBody(name: string): Promise<string> | ReturnType<typeof Bun.file> {
  const asset = DASHBOARD_ASSETS[name]!
  if (!asset.transpile) return Bun.file(asset.path)
  let found = transpiled.get(name)
  if (!found) {
    found = Bun.file(asset.path)
      .text()
      .then((source) => new Bun.Transpiler({ loader: 'ts', target: 'browser' }).transformSync(source))
    transpiled.set(name, found)
  }
  return found
}

export function dashboardRoutes() {
  const html = page()
  const answerPage = () => new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DASHBOARD_CSP } })
  return new Elysia({ name: 'ui.dashboard' })
    .get(DASHBOARD_PATH, answerPage, { detail: { hide: true } })
    .get(`${DASHBOARD_PATH}/`, answerPage, { detail: { hide: true } })
    .get(
      `${ASSETS_PATH}/:file`,
      async ({ params, set }) => {
        const asset = Object.hasOwn(DASHBOARD_ASSETS, params.file) ? DASHBOARD_ASSETS[params.file] : undefined
        if (asset === undefined) {
          set.status = 404
          return { error: 'Resource could not be found' }
        }
        return new Response(await assetBody(params.file), { headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600' } })
      },
      { detail: { hide: true } },
    )
}
