// The share of the database pool that streamed exports may hold at once (DB_EXPORT_CONNECTIONS, half
// of DB_POOL_SIZE by default). An export holds its connection for as long as its client reads, and
// a client that stops reading holds it until the write timeout cuts it: without a share, ten stalled
// exports took a pool of ten, and every page waited for a connection until it failed. With it,
// pages always have the rest of the pool; an export past the share is refused at once (503, busy),
// before its answer starts.

/** Half the pool (at least one connection): the rest is always there for pages. */
export function defaultExportConnections(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2))
}

export class PoolShare {
  #inUse = 0
  #refused = 0

  constructor(
    /** Connections exports may hold at once. */
    readonly size: number,
  ) {}

  /** Exports holding a connection of the share now. */
  get inUse(): number {
    return this.#inUse
  }

  /** Exports refused so far because the share was in use. */
  get refused(): number {
    return this.#refused
  }

  /** A place in the share, and the function (idempotent) that gives it back; undefined when the share is in use. */
  tryTake(): (() => void) | undefined {
    if (this.#inUse >= this.size) {
      this.#refused++
      return undefined
    }
    this.#inUse++
    let given = false
    return () => {
      if (given) return
      given = true
      this.#inUse--
    }
  }
}
