import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { fakeHttpTransport, openCoordinator } from './helpers.js'

async function oneMessage() {
  const opened = await openCoordinator()
  await opened.coord.register({ agentId: 'architect' })
  await opened.coord.register({ agentId: 'builder' })
  const { messageId } = await opened.coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
  return { ...opened, messageId }
}

describe('a receipt given by hand that does not match', () => {
  it('is a wrong receipt, not a lost lease, while the agent holds a live lease', async () => {
    const { coord, messageId } = await oneMessage()
    const [claimed] = await coord.poll('builder', { leaseSeconds: 60 })
    const wrong = { code: 'INVALID_STATE', details: { reason: 'WRONG_RECEIPT', attempt: 1 } }
    await expect(coord.ack(messageId, 'builder', { receipt: 'wrong.1' })).rejects.toMatchObject(wrong)
    await expect(coord.nack(messageId, 'builder', { receipt: 'wrong.1' })).rejects.toMatchObject(wrong)
    await expect(coord.extendLease(messageId, 'builder', { receipt: 'wrong.1' })).rejects.toMatchObject(wrong)
    await expect(coord.ack(messageId, 'builder', { receipt: 'wrong.1' })).rejects.toThrow(
      /Wrong receipt for message .*'builder' holds a live lease on it \(attempt 1/,
    )
    // Nothing was taken from the lease: its own receipt still acks it.
    expect(await coord.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('cannot match a message that was never claimed, and says so', async () => {
    const { coord, messageId } = await oneMessage()
    const error = coord.ack(messageId, 'builder', { receipt: 'wrong.1' })
    await expect(error).rejects.toMatchObject({ code: 'INVALID_STATE', details: { reason: 'NEVER_CLAIMED' } })
    await expect(coord.ack(messageId, 'builder', { receipt: 'wrong.1' })).rejects.toThrow(
      /never been claimed/,
    )
  })

  it('stays a lost lease for a claimed message whose lease ran out and was claimed again', async () => {
    const { coord, clock } = await oneMessage()
    const [first] = await coord.poll('builder', { leaseSeconds: 60 })
    clock.advance(61_000)
    await coord.poll('builder', { leaseSeconds: 60 })
    // The first claim's own receipt is genuine: the live lease of the second claim is not its own.
    await expect(coord.ack(first!)).rejects.toMatchObject({ code: 'LEASE_LOST' })
  })

  it('is told apart for an agent behind a relay too, its delivery looked up there', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const http = await fakeHttpTransport(clock)
    const { coord } = await openCoordinator({ clock, http: () => http.transport })
    await coord.register({ agentId: 'architect' })
    await coord.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://b:8420' })
    const { messageId } = await coord.send({ fromAgent: 'architect', toAgent: 'remote', body: 'x' })
    await coord.poll('remote', { leaseSeconds: 60 })
    await expect(coord.ack(messageId, 'remote', { receipt: 'wrong.1' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      details: { reason: 'WRONG_RECEIPT' },
    })
  })
})
