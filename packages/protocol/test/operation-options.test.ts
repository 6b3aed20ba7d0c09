import { describe, expect, it } from 'vitest'
import {
  ClaimOptionsSchema,
  ExtendLeaseOptionsSchema,
  NackOptionsSchema,
  parseOrThrow,
  TransportSendOptionsSchema,
  ValidationError,
  WaitOptionsSchema,
} from '../src/index.js'

const issuesOf = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return (error as ValidationError).issues
  }
  throw new Error('expected a ValidationError')
}

describe('the options every transport takes', () => {
  it('claims 10 by default and leases for what the caller asks, up to 7 days', () => {
    expect(ClaimOptionsSchema.parse({})).toEqual({ limit: 10 })
    expect(ClaimOptionsSchema.parse({ limit: 1, leaseSeconds: 0.5 })).toEqual({ limit: 1, leaseSeconds: 0.5 })
    expect(
      issuesOf(() =>
        parseOrThrow(ClaimOptionsSchema, { limit: 0, leaseSeconds: 8 * 86_400 }, 'claim options'),
      ),
    ).toEqual([
      { path: 'limit', message: 'must be at least 1' },
      { path: 'leaseSeconds', message: 'must be at most 7 days' },
    ])
    expect(issuesOf(() => parseOrThrow(ClaimOptionsSchema, { limit: 2.5 }, 'claim options'))).toEqual([
      { path: 'limit', message: 'must be a whole number' },
    ])
  })

  it('refuses negative delays, attempts outside 1–1000 and oversize nack reasons, naming the field', () => {
    expect(
      issuesOf(() =>
        parseOrThrow(TransportSendOptionsSchema, { delaySeconds: -1, maxAttempts: 0 }, 'send options'),
      ),
    ).toEqual([
      { path: 'delaySeconds', message: 'must not be negative' },
      { path: 'maxAttempts', message: 'must be at least 1' },
    ])
    expect(
      issuesOf(() => parseOrThrow(NackOptionsSchema, { reason: 'x'.repeat(64 * 1024 + 1) }, 'nack options')),
    ).toEqual([{ path: 'reason', message: 'must be at most 64 KiB' }])
    expect(
      issuesOf(() => parseOrThrow(ExtendLeaseOptionsSchema, { leaseSeconds: 0 }, 'lease options')),
    ).toEqual([
      { path: 'leaseSeconds', message: 'must be a positive number of seconds, at least 0.001 (1 ms)' },
    ])
    // A lease shorter than the millisecond leases are kept to would be over before it began.
    expect(
      issuesOf(() => parseOrThrow(ClaimOptionsSchema, { leaseSeconds: 1e-300 }, 'claim options')),
    ).toEqual([
      { path: 'leaseSeconds', message: 'must be a positive number of seconds, at least 0.001 (1 ms)' },
    ])
    expect(ClaimOptionsSchema.parse({ leaseSeconds: 0.001 })).toMatchObject({ leaseSeconds: 0.001 })
  })

  it('takes an AbortSignal to end a wait early, and nothing else in its place', () => {
    const signal = new AbortController().signal
    expect(WaitOptionsSchema.parse({ timeoutMs: 0, signal })).toEqual({ timeoutMs: 0, signal })
    expect(issuesOf(() => parseOrThrow(WaitOptionsSchema, { signal: 'stop' }, 'wait options'))).toHaveLength(
      1,
    )
  })
})
