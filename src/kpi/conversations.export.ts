// The whole range as CSV or NDJSON, streamed: rows are read in keyset batches as the client reads,
// so memory stays the same whatever the range. CSV follows RFC 4180 (CRLF, fields quoted when they
// hold a comma, a quote or a line break) with a UTF-8 byte-order mark so spreadsheets read names
// right; labels are joined with ';'.
import Negotiator from 'negotiator'
import type { ChangeItem } from './changes.model.ts'
import { withRows } from '../ops/in-flight.ts'
import type { ConversationItem } from './conversations.rules.ts'
import { toIsoSeconds } from './time.ts'

export type ExportFormat = 'csv' | 'ndjson'

export const CSV_COLUMNS = [
  'id',
  'display_id',
  'account_id',
  'created_time',
  'resolved_time',
  'chat_duration',
  'status',
  'labels',
  'assignee_id',
  'assignee_name',
  'assignee_email',
  'contact_id',
  'contact_identifier',
] as const

/** The Content-Type each export is sent with. */
const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson; charset=utf-8',
}

/**
 * What each answer is sent as, parameters included: `negotiator` matches a range with parameters
 * (`text/csv;charset=utf-8`) only to an offer that has the same ones, so the offers are the types
 * really sent (JSON is UTF-8 by definition, RFC 8259). JSON first, so wildcards and ties the
 * client leaves open get JSON.
 */
const MEDIA_TYPES: Record<string, ExportFormat | undefined> = {
  'application/json; charset=utf-8': undefined,
  [CONTENT_TYPES.csv]: 'csv',
  [CONTENT_TYPES.ndjson]: 'ndjson',
}

/**
 * Which export a request asks for: `format`, else its Accept header, negotiated with q-values
 * (by `negotiator`: highest q, then the most specific range, then the client's order); undefined
 * for JSON pages. An Accept that allows none of the three gets JSON, as it always has.
 */
export function exportFormatOf(
  format: string | undefined,
  accept: string | null,
  /** The exports the route offers (the metrics: CSV alone). */
  offered: readonly ExportFormat[] = ['csv', 'ndjson'],
): ExportFormat | undefined {
  if ((format === 'csv' || format === 'ndjson') && offered.includes(format)) return format
  if (format === 'json' || !accept) return undefined
  const types = Object.keys(MEDIA_TYPES).filter((type) => MEDIA_TYPES[type] === undefined || offered.includes(MEDIA_TYPES[type]!))
  const [preferred] = new Negotiator({ headers: { accept } }).mediaTypes(types)
  return preferred === undefined ? undefined : MEDIA_TYPES[preferred]
}

/** A field of text: quoted when it holds a comma, a quote or a line break, quotes doubled; null is empty. */
export function csvText(value: string | null): string {
  if (value === null) return ''
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

/** A field of a number (nothing to quote); null is empty. */
export function csvNumber(value: number | null): string {
  return value === null ? '' : String(value)
}

/** A CSV row of the documented columns. Written as one template, not an array joined: an export writes it per row. */
export function csvRow(item: ConversationItem): string {
  const { assignee, contact } = item
  return (
    `${item.id},${item.display_id},${item.account_id},${csvText(item.created_time)},${csvText(item.resolved_time)},${csvNumber(item.chat_duration)},` +
    `${csvText(item.status)},${csvText(item.labels.join(';'))},` +
    (assignee ? `${assignee.id},${csvText(assignee.name)},${csvText(assignee.email)},` : ',,,') +
    (contact ? `${contact.id},${csvText(contact.identifier)}` : ',')
  )
}

/** What an export writes as CSV: its header's columns, and a row of an item. */
export interface CsvShape<Item> {
  readonly columns: readonly string[]
  row(item: Item): string
}

/** The documented endpoint's export. */
export const CONVERSATIONS_CSV: CsvShape<ConversationItem> = { columns: CSV_COLUMNS, row: csvRow }

/** The changes feed's download: the documented columns, then updated_time and deleted; a deletion fills id, account_id and those two. */
export const CHANGES_CSV: CsvShape<ChangeItem> = {
  columns: [...CSV_COLUMNS, 'updated_time', 'deleted'],
  row: (item) =>
    item.deleted
      ? `${item.id},,${item.account_id}${','.repeat(CSV_COLUMNS.length - 3)},${csvText(item.updated_time)},true`
      : `${csvRow(item)},${csvText(item.updated_time)},false`,
}

/** `<prefix>_<since>_<until>.<ext>`, the range in UTC, safe in any file system. */
export function exportFilename(format: ExportFormat, since: number, until: number, prefix = 'kpi-conversations'): string {
  const stamp = (seconds: number) => toIsoSeconds(new Date(seconds * 1000)).replaceAll(':', '').replaceAll('-', '')
  return `${prefix}_${stamp(since)}_${stamp(until)}.${format === 'csv' ? 'csv' : 'ndjson'}`
}

/**
 * A streamed response of `batches` (each an array of items, fetched when the client has read the
 * previous one); each chunk says how many rows it holds (withRows), for the log. An error while
 * streaming ends the stream: the status is already sent. A client gone meanwhile is no error: the
 * batch read when it left is dropped, and nothing is said of it here (the HTTP layer logs how the
 * export ended, once).
 */
export function exportResponse<Item>(
  format: ExportFormat,
  filename: string,
  batches: AsyncIterator<Item[]>,
  onError: (error: unknown) => void,
  csv: CsvShape<Item>,
): Response {
  const encoder = new TextEncoder()
  let started = false
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started && format === 'csv') controller.enqueue(withRows(encoder.encode(`\uFEFF${csv.columns.join(',')}\r\n`), 0))
        started = true
        // Enqueue something or close: a pull that enqueues nothing is not called again, and the
        // response would hang open (an empty last batch does that).
        for (;;) {
          const next = await batches.next()
          if (cancelled) return
          if (next.done) return controller.close()
          if (next.value.length === 0) continue
          const text =
            format === 'csv' ? next.value.map((item) => `${csv.row(item)}\r\n`).join('') : next.value.map((item) => `${JSON.stringify(item)}\n`).join('')
          return controller.enqueue(withRows(encoder.encode(text), next.value.length))
        }
      } catch (error) {
        if (cancelled) return
        onError(error)
        controller.error(error)
      }
    },
    async cancel() {
      cancelled = true
      await batches.return?.()
    },
  })
  return new Response(stream, { headers: exportHeaders(format, filename) })
}

/** What an export is sent with; alone, the answer to HEAD (which reads no row). */
export function exportHeaders(format: ExportFormat, filename: string): Record<string, string> {
  return {
    'content-type': CONTENT_TYPES[format],
    'content-disposition': `attachment; filename="${filename}"`,
    'cache-control': 'private, no-store',
  }
}
