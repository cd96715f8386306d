// The figures of a distribution, as PostgreSQL gives them: percentile_cont's interpolation, an
// exact mean, rounding half away from zero to 3 decimals after float8's 15 significant digits.
// (On PostgreSQL itself: spec/kpi/metrics.agrees.spec.ts compares with the database's own answer.)
import { describe, expect, test } from 'bun:test'
import { distributionOf, percentileCont, roundedQuotient, roundLikePostgres, statsOf } from '../../src/kpi/metrics.stats.ts'

describe('percentile_cont', () => {
  test('interpolates linearly between the neighbours of p × (n − 1)', () => {
    expect(percentileCont([10], 0.9)).toBe(10)
    expect(percentileCont([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(percentileCont([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBe(90)
    // 0.9 × 3 = 2.7 (2.7000000000000002 in float8): 20 + (30 − 20) × 0.7000000000000002.
    expect(percentileCont([0, 10, 20, 30], 0.9)).toBe(20 + 10 * (0.9 * 3 - 2))
    // 0.95 × 3 is 2.8499999999999996 in float8: 28.499999999999996, which rounds to 28.5.
    expect(percentileCont([0, 10, 20, 30], 0.95)).toBe(28.499999999999996)
    expect(percentileCont([], 0.5)).toBeNull()
  })

  test('a distribution sorts its values (negatives first) and sums them exactly', () => {
    const distribution = distributionOf([300, -60, 120, 7, 45])
    expect(distribution).toEqual({ count: 5, sum: 412, max: 300, percentiles: [45, percentileCont([-60, 7, 45, 120, 300], 0.9)!, percentileCont([-60, 7, 45, 120, 300], 0.95)!] })
  })
})

describe('rounding to 3 decimals, half away from zero', () => {
  test.each([
    [2.0005, 2.001],
    [-2.0005, -2.001],
    [0.0004, 0],
    [1234.5678, 1234.568],
    [28.499999999999996, 28.5],
    // 2.0004999999999997 has 15 significant digits 2.00050000000000: PostgreSQL's cast, then round(), give 2.001.
    [2.0004999999999997, 2.001],
    [300000000000.0625, 300000000000.062],
    [300000000000.1875, 300000000000.188],
    [0, 0],
  ])('%p → %p (as round(x::numeric, 3))', (x, rounded) => expect(roundLikePostgres(x)).toBe(rounded))

  test('the mean is the exact quotient, rounded', () => {
    expect(roundedQuotient(40010, 20000)).toBe(2.001) // 2.0005 exactly
    expect(roundedQuotient(-40010, 20000)).toBe(-2.001)
    expect(roundedQuotient(2, 3)).toBe(0.667)
    expect(roundedQuotient(1, 3)).toBe(0.333)
    expect(roundedQuotient(45_000_000_000_001, 1)).toBe(45_000_000_000_001)
  })

  test('statistics of nothing: count 0, the rest null', () => {
    expect(statsOf(distributionOf([]))).toEqual({ count: 0, mean: null, p50: null, p90: null, p95: null, max: null })
    expect(statsOf(distributionOf([2700, 3600, 14401]))).toEqual({ count: 3, mean: 6900.333, p50: 3600, p90: 12240.8, p95: 13320.9, max: 14401 })
  })
})
