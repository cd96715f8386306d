// The statistics of a group's durations, figure for figure as PostgreSQL gives them: percentiles
// by percentile_cont's own arithmetic (linear interpolation, in float8), the mean from the exact
// integer sum, rounding half away from zero to 3 decimals as `round(x::numeric, 3)` does. Whether
// a group was computed by PostgreSQL (in SQL) or here (SQLite), the same figures come out.

/** The percentiles every statistic carries, as fractions. */
export const PERCENTILES = [0.5, 0.9, 0.95] as const

/** A group's durations before rounding: what SQL returns for a group, or what `distributionOf` computes. */
export interface Distribution {
  readonly count: number
  /** The exact sum of the values (integers), 0 when there are none. */
  readonly sum: number
  readonly max: number | null
  /** percentile_cont at PERCENTILES, in order; null when there are no values. */
  readonly percentiles: readonly number[] | null
}

/** The statistics the API shows: count, mean, p50, p90, p95 (rounded to 3 decimals), max. */
export interface Stats {
  count: number
  mean: number | null
  p50: number | null
  p90: number | null
  p95: number | null
  max: number | null
}

export const EMPTY_DISTRIBUTION: Distribution = { count: 0, sum: 0, max: null, percentiles: null }

/**
 * PostgreSQL's percentile_cont over `sorted` (ascending): the value at position p × (n − 1),
 * interpolated between its neighbours as `lo + (hi − lo) × fraction`, each step in float8 exactly
 * as orderedsetaggs.c does it. Null for no values.
 */
export function percentileCont(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length
  if (n === 0) return null
  const position = p * (n - 1)
  const first = Math.floor(position)
  const second = Math.ceil(position)
  const lo = sorted[first]!
  if (second === first) return lo
  return lo + (sorted[second]! - lo) * (position - first)
}

/** The distribution of integer `values` (any order; sorted in place). */
export function distributionOf(values: Float64Array | number[]): Distribution {
  if (values.length === 0) return EMPTY_DISTRIBUTION
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort()
  let sum = 0
  for (const value of sorted) sum += value
  return { count: sorted.length, sum, max: sorted[sorted.length - 1]!, percentiles: PERCENTILES.map((p) => percentileCont(sorted, p)!) }
}

/** `numerator / denominator` (integers, denominator > 0) rounded half away from zero to 3 decimals, exactly. */
export function roundedQuotient(numerator: number, denominator: number): number {
  const scaled = BigInt(numerator) * 1000n
  const d = BigInt(denominator)
  const magnitude = ((scaled < 0n ? -scaled : scaled) * 2n + d) / (2n * d)
  return Number(scaled < 0n ? -magnitude : magnitude) / 1000
}

/**
 * What PostgreSQL's `round(x::numeric, 3)` gives for a float8 x: the cast keeps 15 significant
 * digits (`%.15g`, ties to even on the exact binary value), then round() goes half away from zero.
 * Done on the exact decimal expansion of x (BigInt), so no step of JavaScript's own rounding enters.
 */
export function roundLikePostgres(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x === 0 ? 0 : x
  const negative = x < 0
  // x = mantissa × 2^exponent exactly, read from its bits.
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, Math.abs(x))
  const bits = view.getBigUint64(0)
  const biased = Number(bits >> 52n)
  const fraction = bits & ((1n << 52n) - 1n)
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n)
  const exponent = (biased === 0 ? 1 : biased) - 1075
  // As a decimal: digits / 10^scale.
  let digits = exponent >= 0 ? mantissa << BigInt(exponent) : mantissa * 5n ** BigInt(-exponent)
  let scale = exponent >= 0 ? 0 : -exponent
  const length = digits.toString().length
  if (length > 15) {
    const divisor = 10n ** BigInt(length - 15)
    const [quotient, remainder] = [digits / divisor, digits % divisor]
    const twice = remainder * 2n
    digits = twice > divisor || (twice === divisor && quotient % 2n === 1n) ? quotient + 1n : quotient
    scale -= length - 15
  }
  // Now half away from zero at 3 decimals.
  let thousandths: bigint
  if (scale <= 3) thousandths = digits * 10n ** BigInt(3 - scale)
  else {
    const divisor = 10n ** BigInt(scale - 3)
    thousandths = digits / divisor + ((digits % divisor) * 2n >= divisor ? 1n : 0n)
  }
  const value = Number(thousandths) / 1000
  return negative ? -value : value
}

/** The API's statistics of a distribution: count, mean and percentiles rounded to 3 decimals, max. */
export function statsOf(distribution: Distribution): Stats {
  const { count, sum, max, percentiles } = distribution
  if (count === 0 || percentiles === null) return { count: 0, mean: null, p50: null, p90: null, p95: null, max: null }
  const [p50, p90, p95] = percentiles.map(roundLikePostgres)
  return { count, mean: roundedQuotient(sum, count), p50: p50!, p90: p90!, p95: p95!, max }
}
