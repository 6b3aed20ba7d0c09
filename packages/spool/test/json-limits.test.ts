import { describe, expect, it } from 'vitest'
import { openSpool, task } from './helpers.js'

/** `levels` objects nested in each other. */
const nested = (levels: number) => JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`)

describe('send with JSON nested too deep', () => {
  it('is a VALIDATION error naming the depth limit, and nothing is stored', async () => {
    const { spool } = await openSpool()
    await expect(spool.send(task('Go', { metadata: nested(3_000) }))).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/metadata: is nested more than 64 levels deep .*jsonMaxDepth/),
    })
    await expect(
      spool.sendBatch([
        { message: task('fine') },
        { message: task('Go', { payload: { type: 'text', data: nested(100_000) } }) },
      ]),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/^Batch item 1: .*payload\.data/),
    })
    expect((await spool.stats()).totalMessages).toBe(0)
  })
})
