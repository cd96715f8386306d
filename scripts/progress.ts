// Progress of long work (the seed, the benchmarks), for a person at a terminal: one status line on
// stderr, redrawn in place at least once a second: a bar when the total is known, the time spent
// otherwise. A line the script prints through `say` first erases it. Anywhere else (a pipe, a file,
// CI, a spec capturing the output) it writes nothing, so what is kept holds only the results.

export interface Progress {
  /** How much of the total is done (ignored without a total). */
  update(done: number): void
  /** The work is over: the status line goes. */
  end(): void
}

const stream = process.stderr
/** Only a terminal gets progress; `isTTY` is undefined on a pipe or a file. */
const live = stream.isTTY === true
const BAR_WIDTH = 30
const REDRAW_MS = 100

let shown: { label: string; total: number | undefined; done: number; started: number; drawn: number } | undefined
let ticker: ReturnType<typeof setInterval> | undefined

function draw(): void {
  if (!shown) return
  const seconds = Math.round((performance.now() - shown.started) / 1000)
  let text = `${shown.label} ${seconds} s`
  if (shown.total !== undefined && shown.total > 0) {
    const filled = Math.min(BAR_WIDTH, Math.round((shown.done / shown.total) * BAR_WIDTH))
    text = `${shown.label} [${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${shown.done.toLocaleString('en-US')}/${shown.total.toLocaleString('en-US')} ${seconds} s`
  }
  // Carriage return and erase-to-end-of-line: the line is rewritten, never added to.
  stream.write(`\r\x1b[K${text}`)
  shown.drawn = performance.now()
}

function erase(): void {
  if (shown) stream.write('\r\x1b[K')
}

/** Starts a status line (ending any other); silent unless stderr is a terminal. */
export function progress(label: string, total?: number): Progress {
  if (!live) return { update: () => {}, end: () => {} }
  erase()
  shown = { label, total, done: 0, started: performance.now(), drawn: 0 }
  clearInterval(ticker)
  // At least a redraw a second, so the time moves while nothing else does; unref: it never keeps the process up.
  ticker = setInterval(draw, 1000)
  ticker.unref?.()
  draw()
  const mine = shown
  return {
    update(done) {
      if (shown !== mine) return
      mine.done = done
      if (performance.now() - mine.drawn >= REDRAW_MS || done === mine.total) draw()
    },
    end() {
      if (shown !== mine) return
      erase()
      shown = undefined
      clearInterval(ticker)
    },
  }
}

/** console.log for a script that may show progress: the status line is erased first, then drawn again. */
export function say(line: string): void {
  if (!live || !shown) {
    console.log(line)
    return
  }
  erase()
  console.log(line)
  draw()
}
