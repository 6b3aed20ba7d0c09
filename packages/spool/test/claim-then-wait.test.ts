import { describe, expect, it } from 'vitest'
import { claimThenWait } from '../src/index.js'

/** Steps that answer from lists and record what was asked. */
function steps(claims: Array<string | undefined>, changes: boolean[]) {
  const calls: string[] = []
  return {
    calls,
    claim: async () => {
      calls.push('claim')
      return claims.shift()
    },
    wait: async (timeoutMs: number, signal: AbortSignal | undefined) => {
      calls.push(`wait ${timeoutMs}${signal === undefined ? '' : ' signal'}`)
      return changes.shift() ?? false
    },
  }
}

describe('claimThenWait', () => {
  it('returns what the first claim finds without waiting', async () => {
    const s = steps(['m1'], [])
    expect(await claimThenWait(s, { timeoutMs: 1000 })).toBe('m1')
    expect(s.calls).toEqual(['claim'])
  })

  it('claims once and never waits when the time is 0', async () => {
    const s = steps([undefined], [true])
    expect(await claimThenWait(s, { timeoutMs: 0 })).toBeUndefined()
    expect(s.calls).toEqual(['claim'])
  })

  it('waits for a change with the whole time and the signal, then claims once more', async () => {
    const s = steps([undefined, 'm2'], [true])
    const signal = new AbortController().signal
    expect(await claimThenWait(s, { timeoutMs: 500, signal })).toBe('m2')
    expect(s.calls).toEqual(['claim', 'wait 500 signal', 'claim'])
  })

  it('does not claim again when the wait ends without a change', async () => {
    const s = steps([undefined, 'late'], [false])
    expect(await claimThenWait(s, { timeoutMs: 500 })).toBeUndefined()
    expect(s.calls).toEqual(['claim', 'wait 500'])
  })

  it('claims only once after a change, even when another consumer won it', async () => {
    const s = steps([undefined, undefined, 'm3'], [true, true])
    expect(await claimThenWait(s, { timeoutMs: 500 })).toBeUndefined()
    expect(s.calls).toEqual(['claim', 'wait 500', 'claim'])
  })
})
