import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { Spool } from '../src/index.js'
import { tempDir } from './helpers.js'
import { firstJsonLine, startFixture } from './processes.js'

describe('a consumer that crashes', () => {
  it('loses nothing: messages it claimed go to another consumer once the lease runs out', async () => {
    const path = join(tempDir(), 'crash.db')
    const producer = await Spool.open({ path })
    const sent = await producer.sendBatch(
      Array.from({ length: 20 }, (_, i) => ({
        message: { fromAgent: 'architect', toAgent: 'builder', body: `t${i}` },
      })),
    )
    await producer.close()

    const victim = startFixture('claim-and-hang.mjs', [path, 'builder', '15', '60'])
    const { claimed } = await firstJsonLine<{ claimed: string[] }>(victim)
    expect(claimed).toHaveLength(15)
    const exited = new Promise((resolve) => victim.on('exit', resolve))
    victim.kill('SIGKILL')
    await exited

    // Another consumer, whose clock says the victim's 60-second lease is over.
    const clock = new ManualClock(Date.now())
    const survivor = await Spool.open({ path, clock })
    try {
      const before = await survivor.claim('builder', { limit: 100, leaseSeconds: 600 })
      expect(before).toHaveLength(5)
      clock.advance(61_000)
      const after = await survivor.claim('builder', { limit: 100 })
      expect(after.map((c) => c.message.id).sort()).toEqual([...claimed].sort())
      expect(after.every((c) => c.lease.attempt === 2)).toBe(true)
      await survivor.ackBatch(
        [...before, ...after].map((c) => ({ messageId: c.message.id, agent: 'builder' })),
      )
      const stats = await survivor.stats()
      expect(stats.deliveries.acked).toBe(sent.length)
      expect((await survivor.verify()).ok).toBe(true)
    } finally {
      await survivor.close()
    }
  })
})
