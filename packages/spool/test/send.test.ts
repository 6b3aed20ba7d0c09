import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { sqliteConnectionOf } from '../src/testing.js'
import { openSpool, task } from './helpers.js'

describe('sending', () => {
  it('writes a batch in chunks of about chunkDeliveries deliveries, validating every message before the first', async () => {
    const { spool } = await openSpool()
    const broadcast = () => ({
      message: createMessage({ fromAgent: 'ops', toAgent: '*', body: 'b' }),
      options: { recipients: ['builder', 'reviewer', 'tester'] },
    })
    const items = Array.from({ length: 450 }, broadcast)
    const invalid = [...items, { message: task(), options: { recipients: ['reviewer'] } }]
    await expect(spool.sendBatch(invalid, { chunkDeliveries: 10 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    expect((await spool.stats()).totalMessages).toBe(0)
    // Between two chunks the event loop runs: sample what is stored each time it does.
    const seen = new Set<number>()
    let done = false
    const sample = (): void => {
      if (done) return
      seen.add(sqliteConnectionOf(spool).prepare('SELECT COUNT(*) FROM messages').pluck().get() as number)
      setImmediate(sample)
    }
    setImmediate(sample)
    const results = await spool.sendBatch(items, { chunkDeliveries: 10 })
    done = true
    expect(results.map((r) => r.deliveries)).toEqual(items.map(() => 3))
    const partial = [...seen].filter((n) => n > 0 && n < 450)
    expect(partial.length).toBeGreaterThan(10)
    expect(Math.max(...partial) - Math.min(...partial)).toBeLessThan(450)
    // Without chunkDeliveries a batch is one transaction: no one sees it half written.
    seen.clear()
    done = false
    setImmediate(sample)
    await spool.sendBatch(Array.from({ length: 450 }, broadcast))
    done = true
    expect([...seen].filter((n) => n > 450 && n < 900)).toEqual([])
  })
})
