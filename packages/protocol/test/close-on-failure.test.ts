import { describe, expect, it } from 'vitest'
import { closeOnFailure } from '../src/index.js'

describe('closeOnFailure', () => {
  it('returns what build made and leaves the resource open', async () => {
    const closed: string[] = []
    const made = await closeOnFailure(
      async () => void closed.push('spool'),
      async () => 'registry',
    )
    expect(made).toBe('registry')
    expect(closed).toEqual([])
  })

  it('closes the resource when build throws (synchronously or not), then rethrows the same error', async () => {
    const closed: string[] = []
    const boom = new Error('boom')
    const close = async () => void closed.push('spool')
    await expect(
      closeOnFailure(close, () => {
        throw boom
      }),
    ).rejects.toBe(boom)
    await expect(closeOnFailure(close, async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(closed).toEqual(['spool', 'spool'])
  })
})
