import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { WindowLimiter } from '../src/window-limiter.js'

describe('WindowLimiter', () => {
  it('refuses an address from its max-th failure until the window that began with its first ends', () => {
    const clock = new ManualClock(0)
    const limiter = new WindowLimiter({ max: 2, timeWindowMs: 60_000 }, clock)
    expect(limiter.fail('10.0.0.1')).toBe(false)
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0)
    clock.advance(15_000)
    expect(limiter.fail('10.0.0.1')).toBe(true)
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(45_000)
    expect(limiter.retryAfterMs('10.0.0.2')).toBe(0)
    clock.advance(45_000)
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0)
    expect(limiter.fail('10.0.0.1')).toBe(false)
  })

  it('keeps memory bounded when failures come from very many addresses, forgetting the oldest first', () => {
    const clock = new ManualClock(0)
    const limiter = new WindowLimiter({ max: 1, timeWindowMs: 60_000 }, clock)
    for (let i = 0; i < 10_050; i++) limiter.fail(`addr-${i}`)
    expect(limiter.retryAfterMs('addr-0')).toBe(0)
    expect(limiter.retryAfterMs('addr-49')).toBe(0)
    expect(limiter.retryAfterMs('addr-50')).toBe(60_000)
    expect(limiter.retryAfterMs('addr-10049')).toBe(60_000)
  })
})

describe('WindowLimiter.take', () => {
  it('charges units while they fit in the window and refuses, charging nothing, when they do not', () => {
    const clock = new ManualClock(0)
    const limiter = new WindowLimiter({ max: 10, timeWindowMs: 60_000 }, clock)
    expect(limiter.take('builder', 6)).toBe(0)
    clock.advance(20_000)
    expect(limiter.take('builder', 5)).toBe(40_000)
    expect(limiter.take('builder', 4)).toBe(0)
    expect(limiter.take('builder', 1)).toBe(40_000)
    expect(limiter.take('reviewer', 10)).toBe(0)
    clock.advance(40_000)
    expect(limiter.take('builder', 10)).toBe(0)
  })
})
