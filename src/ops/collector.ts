// A periodic full collection of the heap (GC_INTERVAL_MS, off by default). Bun returns memory
// lazily: under load the heap grows between collections and resident memory sits well above what
// is live. Collecting on a timer keeps it nearer the live heap, which a container with a memory
// limit may want more than the CPU it costs: measured in docs/benchmarks-history.md, round five (peak resident memory under
// load 10–25 MB lower; each collection a pause of 65–180 ms on the 2-core machine measured, and the
// service's CPU a request 0.95–1.38 of the default's, mostly about 1.3).
// No library does this; it is a timer around Bun.gc.

export interface Collector {
  stop(): void
}

/** Runs `collect` (by default Bun's synchronous full collection) every `intervalMs`; 0 is off. */
export function startCollector(intervalMs: number, collect: () => unknown = () => Bun.gc(true)): Collector {
  if (intervalMs <= 0) return { stop: () => {} }
  // unref: the timer alone never keeps the process alive (a stop does not wait for it).
  const timer = setInterval(collect, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
