// Types of the one pg internal the benchmark uses (scripts/bench-replay.ts): how pg turns a
// parameter into the text it sends, so that a replay sends the very same text.
declare module 'pg/lib/utils.js' {
  /** A parameter as pg sends it: text, or null for SQL NULL (Buffers are sent as they are). */
  export function prepareValue(value: unknown): string | Buffer | null
  const utils: { prepareValue: typeof prepareValue }
  export default utils
}
