// Unit specs of the per-key fixed-window rate limiter.
import { describe, expect, test } from 'bun:test'
import { RateLimiter } from '../../src/ops/rate-limit.ts'

describe('RateLimiter', () => {
  test('allows `limit` requests a window per key, then refuses until the window resets', () => {
    let now = 1_000_000
    const limiter = new RateLimiter({ limit: 3, windowMs: 60_000, clock: () => now })
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false])
    expect(limiter.take('b').allowed).toBe(true) // another key has its own window
    now += 59_999
    expect(limiter.take('a').allowed).toBe(false)
    now += 1
    expect(limiter.take('a')).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60 })
  })

  test('says what the RateLimit headers say: limit, remaining, seconds to reset', () => {
    let now = 0
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, clock: () => now })
    expect(limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 60 })
    now = 30_500
    expect(limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 0, resetSeconds: 30 })
    expect(limiter.take('a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetSeconds: 30 })
  })

  test('a limit of 0 is off', () => {
    expect(new RateLimiter({ limit: 0 }).enabled).toBe(false)
    expect(new RateLimiter({ limit: 1 }).enabled).toBe(true)
  })

  test('keeps at most maxKeys windows (a flood of keys does not grow the process)', () => {
    const limiter = new RateLimiter({ limit: 1, maxKeys: 2, clock: () => 0 })
    limiter.take('a')
    limiter.take('b')
    limiter.take('c') // evicts a
    expect(limiter.take('a').allowed).toBe(true)
  })
})
