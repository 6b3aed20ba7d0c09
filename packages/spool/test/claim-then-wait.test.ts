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
      // The time left: the whole time less what the claims took (well under a second here).
      const left = timeoutMs > 0 && timeoutMs % 1000 !== 0 ? Math.ceil(timeoutMs / 1000) * 1000 : timeoutMs
      calls.push(`wait ${left}${signal === undefined ? '' : ' signal'}`)
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
    expect(await claimThenWait(s, { timeoutMs: 5000, signal })).toBe('m2')
    expect(s.calls).toEqual(['claim', 'wait 5000 signal', 'claim'])
  })

  it('does not claim again when the wait ends without a change', async () => {
    const s = steps([undefined, 'late'], [false])
    expect(await claimThenWait(s, { timeoutMs: 5000 })).toBeUndefined()
    expect(s.calls).toEqual(['claim', 'wait 5000'])
  })

  it('claims only once after a change, even when another consumer won it', async () => {
    const s = steps([undefined, undefined, 'm3'], [true, true])
    expect(await claimThenWait(s, { timeoutMs: 5000 })).toBeUndefined()
    expect(s.calls).toEqual(['claim', 'wait 5000', 'claim'])
  })

  it('with waitAgain, waits again for the time left after a change another consumer won', async () => {
    const s = steps([undefined, undefined, 'm4'], [true, true])
    expect(await claimThenWait(s, { timeoutMs: 60_000, waitAgain: true })).toBe('m4')
    expect(s.calls).toHaveLength(5)
    expect(s.calls.filter((call) => call === 'claim')).toHaveLength(3)
  })

  it('with waitAgain, stops without a claim when the signal aborted', async () => {
    const abort = new AbortController()
    const s = steps([undefined, undefined], [true])
    const waited = claimThenWait(
      {
        claim: s.claim,
        wait: async (ms, signal) => {
          abort.abort()
          return s.wait(ms, signal)
        },
      },
      { timeoutMs: 60_000, signal: abort.signal, waitAgain: true },
    )
    expect(await waited).toBeUndefined()
    expect(s.calls).toEqual(['claim', 'wait 60000 signal', 'claim'])
  })
})
