import { createMessage, IdGenerator } from '@agent-comm/protocol'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it, vi } from 'vitest'
import { startTestRelay, type TestRelay } from './helpers.js'

/**
 * Waits for long polls and streams to reach the relay and park: resolves once the relay has started
 * waiting for messages `count` times in all since the watch began.
 */
function watchParking(relay: TestRelay): (count: number) => Promise<void> {
  const waits = vi.spyOn(relay.spool, 'waitForMessages')
  return (count) =>
    vi.waitFor(() => expect(waits.mock.calls.length).toBeGreaterThanOrEqual(count), {
      // A bound for a loaded machine (vi.waitFor's default is 1 s); the wait ends on the event.
      timeout: 120_000,
      interval: 1,
    })
}

function messages(relay: TestRelay) {
  const ids = new IdGenerator(relay.clock)
  return (
    fields: { toAgent?: string; body?: string; priority?: 'low' | 'normal' | 'high' | 'critical' } = {},
  ) =>
    createMessage(
      { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'go', ...fields },
      { clock: relay.clock, ids },
    )
}

describe('long poll', () => {
  // How fast the wake is depends on the machine's load, so it is not asserted here: each claim waits up to
  // the longest the API allows and must come back with the message sent while it was parked. (The spool's
  // own tests show the wake comes from the send, not from a fallback tick.)
  it('answers each waiting claim with the message sent while it was parked', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const sender = new RelayClient({
      baseUrl: relay.url,
      secretFor: (id) => relay.secrets[id],
      clock: relay.clock,
    })
    const parked = watchParking(relay)
    for (let i = 0; i < 9; i++) {
      const waiting = relay.client.claim('builder', { waitMs: 30_000 })
      await parked(i + 1)
      const sent = await sender.send(message())
      const [claimed] = await waiting
      expect(claimed?.message.id).toBe(sent.messageId)
      await relay.client.ack(sent.messageId, 'builder', { receipt: claimed!.lease.receipt })
    }
    await sender.close()
  })

  it('answers an empty claim after waitMs when nothing arrives', async () => {
    const relay = await startTestRelay()
    const started = performance.now()
    expect(await relay.client.claim('builder', { waitMs: 100 })).toEqual([])
    expect(performance.now() - started).toBeGreaterThanOrEqual(90)
  })

  it('ends pending long polls when the relay shuts down, and refuses new connections', async () => {
    const relay = await startTestRelay()
    const parked = watchParking(relay)
    const waiting = relay.client.claim('builder', { waitMs: 30_000 })
    await parked(1)
    const started = performance.now()
    await relay.app.close()
    expect(await waiting).toEqual([])
    // Ended by the shutdown, before its 30 s wait could run out (the only bound here is that wait).
    expect(performance.now() - started).toBeLessThan(30_000)
    await expect(relay.client.health()).rejects.toMatchObject({ relayCode: 'UNAVAILABLE' })
  })
})

describe('event stream', () => {
  it('delivers an agent’s messages in claim order, those waiting first, then each as it arrives', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const early = [
      await relay.client.send(message({ body: 'low', priority: 'low' })),
      await relay.client.send(message({ body: 'critical', priority: 'critical' })),
      await relay.client.send(message({ body: 'normal' })),
    ]
    const controller = new AbortController()
    const received: string[] = []
    const stream = relay.client.stream('builder', { signal: controller.signal, leaseSeconds: 60 })
    const later: string[] = []
    const consumer = (async () => {
      for await (const claimed of stream) {
        received.push(claimed.message.id)
        await relay.client.ack(claimed.message.id, 'builder', { receipt: claimed.lease.receipt })
        if (received.length === 3) {
          for (let i = 0; i < 20; i++)
            later.push((await relay.client.send(message({ body: `n${i}` }))).messageId)
        }
        if (received.length === 23) controller.abort()
      }
    })()
    await consumer
    expect(received).toEqual([early[1]!.messageId, early[2]!.messageId, early[0]!.messageId, ...later])
    const stats = await relay.spool.stats()
    expect(stats.deliveries).toMatchObject({ acked: 23, leased: 0, queued: 0 })
  })

  it('leases what it streams, so a message nobody acked comes back after its lease', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    const sent = await relay.client.send(message())
    const controller = new AbortController()
    for await (const claimed of relay.client.stream('builder', {
      signal: controller.signal,
      leaseSeconds: 30,
    })) {
      expect(claimed.message.id).toBe(sent.messageId)
      controller.abort()
    }
    expect((await relay.spool.status(sent.messageId)).deliveries[0]).toMatchObject({
      status: 'leased',
      attempt: 1,
    })
    // Until the relay has seen the stream go, its loop could take the message again once the lease ends.
    await expect
      .poll(async () => (await relay.app.inject({ url: '/metrics' })).body)
      .toMatch(/^agent_comm_relay_event_streams 0$/m)
    relay.clock.advance(30_000)
    expect((await relay.client.claim('builder')).map((c) => c.lease.attempt)).toEqual([2])
  })

  it('hands back, unseen, the messages it claimed but had not written when the stream closed', async () => {
    const relay = await startTestRelay()
    const message = messages(relay)
    // 40 bodies of about 1 MB: far more than the sockets buffer, so the relay is still writing the batch
    // (waiting for the slow reader to drain) when the reader goes.
    const body = 'x'.repeat(1_000_000)
    for (let i = 0; i < 40; i++) await relay.spool.send(message({ body }))
    const controller = new AbortController()
    for await (const _ of relay.client.stream('builder', { signal: controller.signal, limit: 40 })) {
      controller.abort()
    }
    await expect
      .poll(async () => (await relay.app.inject({ url: '/metrics' })).body, { timeout: 120_000 })
      .toMatch(/^agent_comm_relay_event_streams 0$/m)
    const deliveries = (await relay.spool.pending('builder', { limit: 100 })).map((p) => p.delivery)
    const handedBack = deliveries.filter((d) => d.status === 'queued')
    const written = deliveries.filter((d) => d.status === 'leased')
    expect(handedBack.length).toBeGreaterThan(0)
    expect(handedBack.length + written.length).toBe(40)
    for (const d of handedBack) expect(d.attempt).toBe(0)
    for (const d of written) expect(d.attempt).toBe(1)
  })

  it('ends the stream when the relay shuts down', async () => {
    const relay = await startTestRelay({ options: { streamKeepAliveMs: 50 } })
    const parked = watchParking(relay)
    const received: unknown[] = []
    const consumer = (async () => {
      for await (const claimed of relay.client.stream('builder')) received.push(claimed)
    })()
    await parked(1)
    await relay.app.close()
    await consumer
    expect(received).toEqual([])
  })
})
