// The dashboard's script, run by the browser (src/ui/dashboard.routes.ts serves it, transpiled from
// this file by Bun when the page is first asked for; tsc checks it with the rest). Every figure on
// the page comes from GET /api/v1/kpi/conversations/metrics; every day and account links to the CSV
// export of exactly its rows on the rows endpoint. The token typed in lives in this script's memory
// only: no storage, no cookie, no URL. The page says `data-state="ready"` on <html> once drawn.
import type UPlot from 'uplot'

const uPlot = (globalThis as unknown as { uPlot: typeof UPlot }).uPlot

const METRICS = '/api/v1/kpi/conversations/metrics'
const ROWS = '/api/v1/kpi/conversations'

interface Stats {
  count: number
  mean: number | null
  p50: number | null
  p90: number | null
  p95: number | null
  max: number | null
}

interface Row {
  period_start?: string
  account_id?: number
  assignee_id?: number | null
  assignee_name?: string | null
  label?: string | null
  conversations: number
  resolved: number
  open: number
  pending: number
  snoozed: number
  chat_duration: Stats
  first_response: Stats | null
}

interface Page {
  meta: { since: number; until: number; time_zone: string; group_by: string[]; items_count: number }
  payload: Row[]
}

/** The token, in memory only. */
let token = ''

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (!found) throw new Error(`#${id} is missing`)
  return found as T
}

/** A zone's offset from UTC at an instant, in ms, from what Intl says the local clock reads then. */
function offsetAt(zone: string, epochMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
    .formatToParts(new Date(epochMs))
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const asUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'))
  return asUtc - Math.floor(epochMs / 1000) * 1000
}

/** The instant (ms) the local date YYYY-MM-DD begins in `zone` (its midnight, or the first instant after one that does not exist). */
function localMidnight(date: string, zone: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const wall = Date.UTC(year, month - 1, day)
  let instant = wall - offsetAt(zone, wall)
  instant = wall - offsetAt(zone, instant)
  return instant
}

/** Today's local date in `zone`, and `days` before or after a date. */
function localToday(zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())
}
function addDays(date: string, days: number): string {
  const at = new Date(`${date}T00:00:00Z`)
  at.setUTCDate(at.getUTCDate() + days)
  return at.toISOString().slice(0, 10)
}

/** Seconds as a person reads a duration: 42 s, 12.5 min, 3.2 h, 2.1 d. */
function duration(seconds: number | null): string {
  if (seconds === null) return '–'
  const magnitude = Math.abs(seconds)
  if (magnitude < 60) return `${round(seconds, 1)} s`
  if (magnitude < 3600) return `${round(seconds / 60, 1)} min`
  if (magnitude < 172_800) return `${round(seconds / 3600, 1)} h`
  return `${round(seconds / 86_400, 1)} d`
}
const round = (value: number, digits: number) => Number(value.toFixed(digits)).toLocaleString('en')

async function metrics(query: Record<string, string>): Promise<Page> {
  const response = await fetch(`${METRICS}?${new URLSearchParams(query)}`, { headers: { api_access_token: token, accept: 'application/json' } })
  const body = (await response.json()) as Page | { error: string }
  if (!response.ok || 'error' in body) throw new Error(`${response.status}: ${'error' in body ? body.error : 'unexpected answer'}`)
  return body
}

/** A link to the CSV export of exactly these rows; clicked, it downloads with the token (a plain link cannot send a header). */
function exportLink(since: number, until: number, accountId: string, text = 'CSV'): HTMLAnchorElement {
  const query = new URLSearchParams({ format: 'csv', since: String(since), until: String(until) })
  if (accountId) query.set('account_id', accountId)
  const link = document.createElement('a')
  link.href = `${ROWS}?${query}`
  link.textContent = text
  link.className = 'csv'
  link.title = `The CSV export of these conversations (since=${since}, until=${until}${accountId ? `, account_id=${accountId}` : ''})`
  link.addEventListener('click', async (event) => {
    event.preventDefault()
    const response = await fetch(link.href, { headers: { api_access_token: token } })
    if (!response.ok) return showStatus(`The export failed: ${response.status}`, true)
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'conversations.csv'
    const url = URL.createObjectURL(await response.blob())
    const save = document.createElement('a')
    save.href = url
    save.download = name
    save.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  })
  return link
}

function showStatus(text: string, error = false) {
  const status = element('status')
  status.textContent = text
  status.classList.toggle('error', error)
}

/** A table cell with a figure: the value shown for a person, the exact figure in data-value. */
function figure(field: string, value: number | null, shown: string = value === null ? '–' : value.toLocaleString('en')): HTMLTableCellElement {
  const cell = document.createElement('td')
  cell.dataset.field = field
  cell.dataset.value = value === null ? '' : String(value)
  cell.textContent = shown
  return cell
}

function text(value: string, className?: string): HTMLTableCellElement {
  const cell = document.createElement('td')
  cell.textContent = value
  if (className) cell.className = className
  return cell
}

const FIGURE_HEADINGS = ['conversations', 'resolved', 'open', 'pending', 'snoozed', 'chat p50', 'chat p90', 'first reply p50', 'first reply p90']

/** The figures of a row, as cells. */
function figures(row: Row): HTMLTableCellElement[] {
  return [
    figure('conversations', row.conversations),
    figure('resolved', row.resolved),
    figure('open', row.open),
    figure('pending', row.pending),
    figure('snoozed', row.snoozed),
    figure('chat_duration.p50', row.chat_duration.p50, duration(row.chat_duration.p50)),
    figure('chat_duration.p90', row.chat_duration.p90, duration(row.chat_duration.p90)),
    figure('first_response.p50', row.first_response?.p50 ?? null, duration(row.first_response?.p50 ?? null)),
    figure('first_response.p90', row.first_response?.p90 ?? null, duration(row.first_response?.p90 ?? null)),
  ]
}

/** A table of rows: its key columns, the figures, and a last cell (a link) when given. */
function table(id: string, groupBy: string, headings: string[], rows: Row[], keys: (row: Row) => Array<HTMLTableCellElement>, last?: (row: Row, index: number) => HTMLElement | undefined) {
  const target = element(id)
  target.replaceChildren()
  const tableElement = document.createElement('table')
  tableElement.dataset.groupBy = groupBy
  const head = tableElement.createTHead().insertRow()
  for (const heading of [...headings, ...FIGURE_HEADINGS, ...(last ? [''] : [])]) {
    const cell = document.createElement('th')
    cell.textContent = heading
    head.append(cell)
  }
  const body = tableElement.createTBody()
  rows.forEach((row, index) => {
    const line = body.insertRow()
    line.dataset.key = JSON.stringify({ period_start: row.period_start, account_id: row.account_id, assignee_id: row.assignee_id, label: row.label })
    line.append(...keys(row), ...figures(row))
    if (last) {
      const cell = document.createElement('td')
      const content = last(row, index)
      if (content) cell.append(content)
      line.append(cell)
    }
  })
  target.append(tableElement)
}

const charts: UPlot[] = []

/** Conversations per day by status, stacked (each series drawn over the taller one before it). */
function statusChart(days: Row[], zone: string, width: number) {
  const x = days.map((day) => Date.parse(day.period_start!) / 1000)
  const order = [
    ['resolved', '#2e7d32'],
    ['open', '#1565c0'],
    ['pending', '#ef6c00'],
    ['snoozed', '#8e24aa'],
  ] as const
  const raw = order.map(([status]) => days.map((day) => day[status]))
  const stacked = raw.map((_, index) => days.map((_day, i) => raw.slice(0, index + 1).reduce((sum, series) => sum + series[i]!, 0)))
  const half = x.length > 1 ? (x[1]! - x[0]!) / 2 : 43_200
  const bars = uPlot.paths.bars!({ size: [0.8, 64] })
  const series = order.map(([status, color], index) => ({ label: status, fill: color, stroke: color, paths: bars, points: { show: false }, value: (_u: UPlot, _v: number | null, _s: number, i: number | null) => (i === null ? '–' : String(raw[index]![i])) })).reverse()
  const options: UPlot.Options = {
    width,
    height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
    scales: { x: { time: true, range: (_u, min, max) => [min - half, max + half] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
    series: [{ label: 'day' }, ...series],
    axes: [{}, { label: 'conversations', size: 60 }],
    legend: { live: true },
  }
  charts.push(new uPlot(options, [x, ...stacked.reverse()], element('chart-status')))
}

/** p50 and p90 of a duration per day, in `unit` (minutes or hours). */
function durationChart(id: string, days: Row[], measure: 'chat_duration' | 'first_response', zone: string, width: number, color: string, unit: 'minutes' | 'hours') {
  const x = days.map((day) => Date.parse(day.period_start!) / 1000)
  const per = unit === 'hours' ? 3600 : 60
  const short = unit === 'hours' ? 'h' : 'min'
  const values = (p: 'p50' | 'p90') => days.map((day) => {
    const value = day[measure]?.[p]
    return value === null || value === undefined ? null : value / per
  })
  const options: UPlot.Options = {
    width,
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
    scales: { x: { time: true } },
    series: [
      { label: 'day' },
      { label: 'p50', stroke: color, width: 2, spanGaps: true, value: (_u, v) => (v === null ? '–' : `${round(v, 1)} ${short}`) },
      { label: 'p90', stroke: color, width: 2, dash: [6, 4], spanGaps: true, value: (_u, v) => (v === null ? '–' : `${round(v, 1)} ${short}`) },
    ],
    axes: [{}, { label: unit, size: 60 }],
  }
  charts.push(new uPlot(options, [x, values('p50'), values('p90')], element(id)))
}

function tile(id: string, field: string, value: number | null, shown: string) {
  const target = element(id)
  target.dataset.field = field
  target.dataset.value = value === null ? '' : String(value)
  target.textContent = shown
}

async function show(event?: Event) {
  event?.preventDefault()
  token = element<HTMLInputElement>('token').value.trim()
  const zone = element<HTMLSelectElement>('zone').value
  const from = element<HTMLInputElement>('from').value
  const to = element<HTMLInputElement>('to').value
  const accountId = element<HTMLSelectElement>('account').value
  if (!token) return showStatus('Type the KPI tracker\'s access token first.', true)
  if (!from || !to || from > to) return showStatus('Pick a range: from a day to a day not before it.', true)
  const since = Math.floor(localMidnight(from, zone) / 1000)
  const until = Math.floor(localMidnight(addDays(to, 1), zone) / 1000) - 1
  const base: Record<string, string> = { since: String(since), until: String(until), time_zone: zone, ...(accountId ? { account_id: accountId } : {}) }
  document.documentElement.dataset.state = 'loading'
  showStatus('Loading…')
  try {
    const [total, days, accounts, assignees, labels] = await Promise.all(['', 'day', 'account', 'assignee', 'label'].map((groupBy) => metrics({ ...base, group_by: groupBy })))
    const all = total!.payload[0]!
    tile('tile-conversations', 'conversations', all.conversations, all.conversations.toLocaleString('en'))
    tile('tile-resolved', 'resolved', all.resolved, all.resolved.toLocaleString('en'))
    tile('tile-chat-p50', 'chat_duration.p50', all.chat_duration.p50, duration(all.chat_duration.p50))
    tile('tile-chat-p90', 'chat_duration.p90', all.chat_duration.p90, duration(all.chat_duration.p90))
    tile('tile-first-p50', 'first_response.p50', all.first_response?.p50 ?? null, duration(all.first_response?.p50 ?? null))
    tile('tile-first-p90', 'first_response.p90', all.first_response?.p90 ?? null, duration(all.first_response?.p90 ?? null))
    element('total-export').replaceChildren(exportLink(since, until, accountId, 'CSV of all these conversations'))

    for (const chart of charts.splice(0)) chart.destroy()
    const width = Math.min(1180, element('charts').clientWidth - 8)
    statusChart(days!.payload, zone, width)
    durationChart('chart-chat', days!.payload, 'chat_duration', zone, width, '#00695c', 'hours')
    durationChart('chart-first', days!.payload, 'first_response', zone, width, '#5d4037', 'minutes')

    // A day's rows: from its local start (or since) to the next day's start (or until).
    const starts = days!.payload.map((day) => Date.parse(day.period_start!) / 1000)
    table('table-days', 'day', ['day'], days!.payload, (row) => [text(row.period_start!.slice(0, 10))], (_row, index) =>
      exportLink(Math.max(since, starts[index]!), index + 1 < starts.length ? starts[index + 1]! - 1 : until, accountId),
    )
    table('table-accounts', 'account', ['account'], accounts!.payload, (row) => [text(String(row.account_id))], (row) => exportLink(since, until, String(row.account_id)))
    table('table-assignees', 'assignee', ['assignee'], assignees!.payload, (row) => [text(row.assignee_id === null ? 'unassigned' : `${row.assignee_name} (${row.assignee_id})`, row.assignee_id === null ? 'none' : undefined)])
    table('table-labels', 'label', ['label'], labels!.payload, (row) => [text(row.label ?? 'no label', row.label === null ? 'none' : undefined)])

    // The account picker lists the accounts of the range (all of them when none is picked).
    const picker = element<HTMLSelectElement>('account')
    if (!accountId) {
      picker.replaceChildren(new Option('all VBET accounts', ''), ...accounts!.payload.map((row) => new Option(`account ${row.account_id}`, String(row.account_id))))
    }
    showStatus(`${all.conversations.toLocaleString('en')} conversations from ${from} to ${to} (${zone})${accountId ? `, account ${accountId}` : ''}.`)
    document.documentElement.dataset.state = 'ready'
  } catch (error) {
    showStatus(error instanceof Error ? error.message : String(error), true)
    document.documentElement.dataset.state = 'error'
  }
}

function start() {
  const zone = element<HTMLSelectElement>('zone')
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone
  const zones = [...new Set(['UTC', here, ...Intl.supportedValuesOf('timeZone')])]
  zone.replaceChildren(...zones.map((name) => new Option(name, name, false, name === here)))
  const today = localToday(zone.value)
  element<HTMLInputElement>('to').value = today
  element<HTMLInputElement>('from').value = addDays(today, -29)
  element<HTMLFormElement>('controls').addEventListener('submit', show)
  document.documentElement.dataset.state = 'idle'
}

start()
