import { describe, expect, it } from 'vitest'
import { retryAfterMs } from '../src/retry-after.js'

describe('reading a Retry-After header', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0)

  it('reads delta-seconds and an HTTP date, a date in the past as no wait', () => {
    expect(retryAfterMs(' 5 ', now)).toBe(5_000)
    expect(retryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000)
    expect(retryAfterMs(new Date(now - 30_000).toUTCString(), now)).toBe(0)
  })

  it('answers undefined for no header or one that is neither', () => {
    for (const value of [undefined, null, '', '  ', 'soon', 'in a minute']) {
      expect(retryAfterMs(value, now)).toBeUndefined()
    }
  })
})
