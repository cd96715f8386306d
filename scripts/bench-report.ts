// BENCHMARKS.md as scripts/bench.ts writes it: the current table and its method first, then the
// sections other scripts write or keep (the growth table, the change capture's section, the notes:
// one short section a lever measured, the instances and the executable). Older rounds' notes live in
// docs/benchmarks-history.md. This file only renders; the figures come from the benchmark.
import { growthSection } from './bench-growth.ts'
import { captureSection, withCaptureSection } from './bench-capture.ts'

/**
 * A measure: the service, its limit (same run), and the peer where one applies. A row without a
 * target (`met` undefined) says what a measure is made of: its verdict is a dash.
 */
export interface Row {
  readonly what: string
  readonly service: string
  readonly baseline: string
  readonly ratio: number
  readonly peer?: string
  readonly peerRatio?: number
  readonly target: string
  readonly met?: boolean
  /** The 1-minute load average when the row's measuring began and ended (this machine is shared). */
  readonly load?: readonly [number, number]
}

export const NOTES_MARKER = '<!-- notes -->'

const verdict = (row: Row) => (row.met === undefined ? '–' : row.met ? 'met' : '**missed**')
const load = (row: Row) => (row.load ? `${row.load[0].toFixed(1)}–${row.load[1].toFixed(1)}` : '–')

/** The table, a row a line. */
export function tableOf(rows: readonly Row[]): string {
  return [
    '| measure | service | limit | service ÷ limit | peer | service ÷ peer | target (÷ limit) | | load |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.what} | ${row.service} | ${row.baseline} | ${row.ratio} | ${row.peer ?? '–'} | ${row.peerRatio ?? '–'} | ${row.target} | ${verdict(row)} | ${load(row)} |`),
  ].join('\n')
}

/** The report: `head` (the table and the method) replacing the old head, every other section kept as it was. */
export function assembleReport(previous: string, head: string): string {
  const notes = previous.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER)) : `${NOTES_MARKER}\n`
  const written = `${head.trimEnd()}\n\n${growthSection(previous)}\n${notes}`
  // The change capture's section (scripts/bench-capture.ts) is kept as it was, before the notes.
  const capture = captureSection(previous)
  return capture ? withCaptureSection(written, capture) : written
}

/**
 * Writes `section` (which starts with `begin` and ends with `end`) into the report at `path`: in
 * place of the one between the same markers, else after the rest. Everything else is kept.
 */
export async function writeMarkedSection(path: string, begin: string, end: string, section: string): Promise<void> {
  const previous = await Bun.file(path).text().catch(() => '')
  const from = previous.indexOf(begin)
  const to = previous.indexOf(end)
  const next = from >= 0 && to > from ? previous.slice(0, from) + section + previous.slice(to + end.length) : `${previous.trimEnd()}\n\n${section}\n`
  await Bun.write(path, next)
}
