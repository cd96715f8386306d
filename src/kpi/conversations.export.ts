// The whole range as CSV or NDJSON, streamed: rows are read in keyset batches as the client reads,
// so memory stays the same whatever the range. CSV follows RFC 4180 (CRLF, fields quoted when they
// hold a comma, a quote or a line break) with a UTF-8 byte-order mark so spreadsheets read names
// right; labels are joined with ';'.
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

/** Which export a request asks for: `format`, else its Accept header; undefined for JSON pages. */
export function exportFormatOf(format: string | undefined, accept: string | null): ExportFormat | undefined {
  if (format === 'csv' || format === 'ndjson') return format
  if (format === 'json') return undefined
  const types = (accept ?? '').toLowerCase()
  if (types.includes('text/csv')) return 'csv'
  if (types.includes('application/x-ndjson')) return 'ndjson'
  return undefined
}

function csvField(value: string | number | null): string {
  if (value === null) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(item: ConversationItem): string {
  return [
    item.id,
    item.display_id,
    item.account_id,
    item.created_time,
    item.resolved_time,
    item.chat_duration,
    item.status,
    item.labels.join(';'),
    item.assignee?.id ?? null,
    item.assignee?.name ?? null,
    item.assignee?.email ?? null,
    item.contact?.id ?? null,
    item.contact?.identifier ?? null,
  ]
    .map(csvField)
    .join(',')
}

/** `kpi-conversations_<since>_<until>.<ext>`, the range in UTC, safe in any file system. */
export function exportFilename(format: ExportFormat, since: number, until: number): string {
  const stamp = (seconds: number) => toIsoSeconds(new Date(seconds * 1000)).replaceAll(':', '').replaceAll('-', '')
  return `kpi-conversations_${stamp(since)}_${stamp(until)}.${format === 'csv' ? 'csv' : 'ndjson'}`
}

/**
 * A streamed response of `batches` (each an array of items, fetched when the client has read the
 * previous one). An error while streaming ends the stream: the status is already sent.
 */
export function exportResponse(format: ExportFormat, filename: string, batches: AsyncIterator<ConversationItem[]>, onError: (error: unknown) => void): Response {
  const encoder = new TextEncoder()
  let started = false
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started && format === 'csv') controller.enqueue(encoder.encode(`\uFEFF${CSV_COLUMNS.join(',')}\r\n`))
        started = true
        // Enqueue something or close: a pull that enqueues nothing is not called again, and the
        // response would hang open (an empty last batch does that).
        for (;;) {
          const next = await batches.next()
          if (next.done) return controller.close()
          if (next.value.length === 0) continue
          const text = format === 'csv' ? next.value.map((item) => `${csvRow(item)}\r\n`).join('') : next.value.map((item) => `${JSON.stringify(item)}\n`).join('')
          return controller.enqueue(encoder.encode(text))
        }
      } catch (error) {
        onError(error)
        controller.error(error)
      }
    },
    async cancel() {
      await batches.return?.()
    },
  })
  return new Response(stream, {
    headers: {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'private, no-store',
    },
  })
}
