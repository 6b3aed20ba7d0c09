import { createMessage, type DeliveryInfo } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { inboxText } from '../src/commands/inbox.js'
import { statusText } from '../src/format.js'

const leaseUntil = '2026-02-03T14:30:00.000Z'
const before = Date.parse(leaseUntil) - 60_000
const after = Date.parse(leaseUntil) + 60_000
const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'Write the docs' })
const delivery: DeliveryInfo = {
  recipient: 'builder',
  status: 'leased',
  attempt: 1,
  maxAttempts: 3,
  leaseUntil,
  availableAt: null,
  lastError: null,
  createdAt: message.timestamp,
  updatedAt: message.timestamp,
  ackedAt: null,
}

describe('a lease that already ran out (not yet swept back by a claim)', () => {
  it('shows in inbox as ran out and back in the queue at the next claim, not as leased until a past time', () => {
    expect(inboxText('builder', [{ message, delivery }], before)).toContain(`leased until ${leaseUntil}`)
    const text = inboxText('builder', [{ message, delivery }], after)
    expect(text).toContain(`lease ran out at ${leaseUntil}, back in the queue at the next claim`)
    expect(text).not.toContain('leased until')
  })

  it('shows in status the same way', () => {
    expect(statusText({ message, deliveries: [delivery] }, before)).toContain(`lease until ${leaseUntil}`)
    const text = statusText({ message, deliveries: [delivery] }, after)
    expect(text).toContain(`lease ran out at ${leaseUntil}, back in the queue at the next claim`)
    expect(text).not.toContain('lease until')
  })
})
