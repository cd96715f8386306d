// Prometheus metrics in the text exposition format: requests by status, a latency histogram, and
// whatever the parts of the service report through collectors (pool usage, cache hits).

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** One metric family's lines, written by a collector when /metrics is read. */
export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  readonly samples: ReadonlyArray<{ readonly labels?: Record<string, string>; readonly value: number }>
}

export class Metrics {
  readonly #requests = new Map<number, number>()
  readonly #buckets = BUCKETS.map(() => 0)
  #count = 0
  #sum = 0
  readonly #collectors: Array<() => MetricFamily[]> = []

  /** Counts one answered request. */
  observe(status: number, seconds: number): void {
    this.#requests.set(status, (this.#requests.get(status) ?? 0) + 1)
    this.#count++
    this.#sum += seconds
    BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.#buckets[index]!++
    })
  }

  collect(collector: () => MetricFamily[]): void {
    this.#collectors.push(collector)
  }

  render(): string {
    const lines: string[] = [
      '# HELP kpi_http_requests_total HTTP requests answered, by status.',
      '# TYPE kpi_http_requests_total counter',
      ...[...this.#requests].sort(([a], [b]) => a - b).map(([status, n]) => `kpi_http_requests_total{status="${status}"} ${n}`),
      '# HELP kpi_http_request_duration_seconds Time to answer a request (to the first byte of a streamed export).',
      '# TYPE kpi_http_request_duration_seconds histogram',
      ...BUCKETS.map((bound, index) => `kpi_http_request_duration_seconds_bucket{le="${bound}"} ${this.#buckets[index]}`),
      `kpi_http_request_duration_seconds_bucket{le="+Inf"} ${this.#count}`,
      `kpi_http_request_duration_seconds_sum ${this.#sum}`,
      `kpi_http_request_duration_seconds_count ${this.#count}`,
    ]
    for (const family of this.#collectors.flatMap((collector) => collector())) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`)
      for (const sample of family.samples) {
        const labels = Object.entries(sample.labels ?? {}).map(([key, value]) => `${key}="${value}"`).join(',')
        lines.push(`${family.name}${labels ? `{${labels}}` : ''} ${sample.value}`)
      }
    }
    return `${lines.join('\n')}\n`
  }
}
