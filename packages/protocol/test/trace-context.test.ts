import { describe, expect, it } from 'vitest'
import { formatTraceparent, parseTraceparent, traceMetadataOf } from '../src/index.js'

describe('W3C trace context', () => {
  it('parses and formats a traceparent', () => {
    const value = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const fields = parseTraceparent(value)
    expect(fields).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    })
    expect(formatTraceparent(fields!)).toBe(value)
  })

  it('ignores malformed and all-zero traceparents', () => {
    expect(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined()
    expect(parseTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined()
    expect(parseTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`)).toBeUndefined()
    expect(parseTraceparent(42)).toBeUndefined()
    expect(traceMetadataOf({ trace: { traceparent: 'x' } })).toBeUndefined()
    expect(traceMetadataOf(undefined)).toBeUndefined()
  })
})
