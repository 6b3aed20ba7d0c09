import { describe, expect, it } from 'vitest'
import { openCoordinator } from './helpers.js'

async function withMessages(count: number) {
  const opened = await openCoordinator()
  await opened.coord.register({ agentId: 'builder' })
  await opened.coord.register({ agentId: 'architect' })
  for (let i = 0; i < count; i++) {
    await opened.coord.send({ fromAgent: 'architect', toAgent: 'builder', body: `${i}` })
  }
  return opened
}

describe('coordinator.messages() with a limit above 1 (messages claimed ahead)', () => {
  it('extends the leases of the messages not yet yielded once half of the lease is gone', async () => {
    const { coord, clock } = await withMessages(3)
    const leases: string[] = []
    for await (const msg of coord.messages('builder', { limit: 3, leaseSeconds: 60 })) {
      leases.push(msg.lease.leaseUntil)
      await coord.ack(msg)
      if (leases.length === 3) break
      clock.advance(40_000)
    }
    const start = Date.UTC(2026, 1, 3, 14, 30)
    // The second was extended when it was yielded (40 s in), the third again 40 s later.
    expect(leases).toEqual([
      new Date(start + 60_000).toISOString(),
      new Date(start + 100_000).toISOString(),
      new Date(start + 140_000).toISOString(),
    ])
    expect((await coord.stats()).deliveries).toMatchObject({ acked: 3, leased: 0 })
  })

  it('keeps a message claimed ahead from being claimed again while the body works on the one before', async () => {
    const { coord, clock } = await withMessages(2)
    for await (const msg of coord.messages('builder', { limit: 2, leaseSeconds: 60 })) {
      if (msg.message.body === '0') {
        clock.advance(40_000)
        await coord.ack(msg)
        continue
      }
      // 80 s after the claim: the first lease is long gone, the extended one runs until 100 s.
      clock.advance(40_000)
      expect(await coord.poll('builder')).toEqual([])
      await coord.ack(msg)
      break
    }
    expect((await coord.stats()).deliveries).toMatchObject({ acked: 2, leased: 0 })
  })

  it('with autoAck, acks the finished messages once half of the lease is gone', async () => {
    const { coord, clock } = await withMessages(3)
    const controller = new AbortController()
    const acked: number[] = []
    for await (const _ of coord.messages('builder', {
      limit: 3,
      leaseSeconds: 60,
      autoAck: true,
      signal: controller.signal,
    })) {
      acked.push((await coord.stats()).deliveries.acked)
      if (acked.length === 3) controller.abort()
      clock.advance(40_000)
    }
    // Without time passing, the batch would be acked only with the next claim (0, 0, 0).
    expect(acked).toEqual([0, 1, 2])
    expect((await coord.stats()).deliveries).toMatchObject({ acked: 3, leased: 0 })
  })

  it('skips a message claimed ahead whose lease ran out and was claimed by another consumer', async () => {
    const { coord, clock } = await withMessages(2)
    const controller = new AbortController()
    const seen: string[] = []
    let other: Awaited<ReturnType<typeof coord.poll>> = []
    for await (const msg of coord.messages('builder', {
      limit: 2,
      leaseSeconds: 60,
      signal: controller.signal,
    })) {
      seen.push(msg.message.body)
      await coord.ack(msg)
      // The body outlives the whole lease: another consumer claims the second message meanwhile.
      clock.advance(61_000)
      other = await coord.poll('builder')
      controller.abort()
    }
    expect(seen).toEqual(['0'])
    expect(other.map((m) => m.message.body)).toEqual(['1'])
    // The loop neither yielded nor handed back the other consumer's message: its ack still holds.
    await expect(coord.ack(other[0]!)).resolves.toMatchObject({ alreadyAcked: false })
  })

  it('hands back the messages claimed ahead but never yielded without using up their attempts', async () => {
    const { coord } = await withMessages(3)
    // Each loop claims all three and stops after the first: far more loops than the attempts (3) allow.
    for (let loop = 0; loop < 5; loop++) {
      for await (const msg of coord.messages('builder', { limit: 3 })) {
        expect(msg.lease.attempt).toBe(1)
        // The body itself gives the one it was handed back untouched, and stops the loop.
        await coord.nack(msg, undefined, { handBack: true })
        break
      }
    }
    const stats = await coord.stats()
    expect(stats.deliveries).toMatchObject({ queued: 3, failed: 0, leased: 0 })
    const received: string[] = []
    for await (const msg of coord.messages('builder', { limit: 3 })) {
      received.push(msg.message.body)
      expect(msg.lease.attempt).toBe(1)
      await coord.ack(msg)
      if (received.length === 3) break
    }
    expect(received).toEqual(['0', '1', '2'])
  })
})
