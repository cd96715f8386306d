// Requests written byte for byte on a TCP socket, for what fetch() cannot send: a malformed or
// missing Host, HTTP/1.0, two Host lines, an absolute-form target. The answer is read until the
// server closes (every request here says Connection: close, or is HTTP/1.0).
import { connect } from 'node:net'

export interface RawAnswer {
  readonly status: number
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Record<string, string>
  readonly body: string
  readonly raw: string
}

/** Sends `text` as it is to 127.0.0.1:`port` and reads the whole answer. */
export function rawRequest(port: number, text: string, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms to ${JSON.stringify(text.split('\r\n')[0])}`))
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      // Bytes as latin1 characters while chunk sizes (bytes) are counted, then the body as UTF-8.
      const raw = Buffer.concat(chunks).toString('latin1')
      const split = raw.indexOf('\r\n\r\n')
      const head = raw.slice(0, split < 0 ? raw.length : split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon).trim().toLowerCase()
        const value = line.slice(colon + 1).trim()
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
      }
      let body = split < 0 ? '' : raw.slice(split + 4)
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = unchunk(body)
      body = Buffer.from(body, 'latin1').toString('utf8')
      resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0), headers, body, raw })
    })
  })
}

function unchunk(text: string): string {
  let out = ''
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n')
    const size = Number.parseInt(rest.slice(0, end), 16)
    if (!(size > 0)) return out
    out += rest.slice(end + 2, end + 2 + size)
    rest = rest.slice(end + 2 + size + 2)
  }
}

/** `GET target HTTP/1.1` with these header lines (a Host among them, or not) and Connection: close. */
export function get(target: string, headerLines: readonly string[]): string {
  return [`GET ${target} HTTP/1.1`, ...headerLines, 'Connection: close', '', ''].join('\r\n')
}
