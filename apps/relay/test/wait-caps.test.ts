import type { ClaimedMessage } from '@agent-comm/protocol'
import { RelayClient, RelayError } from '@agent-comm/transport-http'
import { describe, expect, it, vi } from 'vitest'
import { errorOf, onCleanup, startTestRelay, type TestRelay } from './helpers.js'

/** The long polls and event streams the relay holds open now, from its metrics. */
async function waitsOpen(relay: TestRelay): Promise<number> {
  const metrics = await relay.app.inject({ method: 'GET', url: '/metrics' })
  return Number(/^agent_comm_relay_waits_open (\d+)$/m.exec(metrics.body)?.[1])
}

/** Resolves once the relay holds exactly `n` waits open (it saw the requests arrive, or their clients go). */
async function untilWaitsOpen(relay: TestRelay, n: number): Promise<void> {
  await vi.waitFor(async () => expect(await waitsOpen(relay)).toBe(n), { timeout: 60_000, interval: 20 })
}

/**
 * A relay allowing `max` waits per agent, and a client of its own (connections enough for them all) whose
 * waits between attempts are recorded in `sleeps` and end at once, or when `onSleep` resolves.
 */
async function cappedRelay(max: number, options: { retries?: number; onSleep?: () => Promise<void> } = {}) {
  const relay = await startTestRelay({ options: { maxWaitsPerAgent: max } })
  const sleeps: number[] = []
  const client = new RelayClient({
    baseUrl: relay.url,
    secretFor: (id) => relay.secrets[id],
    clock: relay.clock,
    retries: options.retries ?? 0,
    sleep: async (ms) => {
      sleeps.push(ms)
      await options.onSleep?.()
    },
  })
  onCleanup(() => client.close())
  return { relay, client, sleeps }
}

/** A long-poll claim for the builder that only its abort (or 30 s) ends; its outcome kept, never thrown. */
function parkedClaim(client: RelayClient) {
  const controller = new AbortController()
  const outcome = client.claim('builder', { waitMs: 30_000, signal: controller.signal }).then(
    (messages) => ({ messages }),
    (error: unknown) => ({ error }),
  )
  return { abort: () => controller.abort(), outcome }
}

describe('waits per agent (--max-waits)', () => {
  it('refuses the N+1st long poll or stream with 429, Retry-After and a hint, before it claims anything', async () => {
    const { relay, client } = await cappedRelay(3)
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'queued, not a reply' })
    // Three reply waits: parked, as the message queued is not the reply they wait for.
    const controller = new AbortController()
    const replyWaits = [1, 2, 3].map(() =>
      client
        .claimReply('builder', 'msg_never_answered', { waitMs: 30_000, signal: controller.signal })
        .catch(() => undefined),
    )
    await untilWaitsOpen(relay, 3)
    const refused = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', { waitMs: 1000 })
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBe('1')
    expect(errorOf(refused)).toMatchObject({
      code: 'TOO_MANY_WAITS',
      message: expect.stringContaining("Agent 'builder' already has 3 long polls and event streams open"),
      hint: expect.stringContaining('--max-waits'),
      details: { limit: 3, kind: 'claim' },
    })
    // Refused before its claim: the message is still queued.
    expect((await relay.spool.stats()).deliveries).toMatchObject({ queued: 1, leased: 0 })
    const reply = await relay.signed('builder', 'POST', '/api/v1/agents/builder/replies/msg_other/claim', {
      waitMs: 1000,
    })
    expect(errorOf(reply)).toMatchObject({ code: 'TOO_MANY_WAITS', details: { kind: 'claimReply' } })
    const stream = await relay.signed('builder', 'GET', '/api/v1/agents/builder/stream')
    expect(stream.statusCode).toBe(429)
    expect(errorOf(stream)).toMatchObject({ code: 'TOO_MANY_WAITS', details: { kind: 'stream' } })
    const wait = await relay.signed('builder', 'GET', '/api/v1/agents/builder/wait?timeoutMs=1000')
    expect(errorOf(wait)).toMatchObject({ code: 'TOO_MANY_WAITS', details: { kind: 'wait' } })
    // A claim that does not wait, and another agent's long poll, are not held to the builder's slots.
    const claimed = await relay.signed('builder', 'POST', '/api/v1/agents/builder/claim', {})
    expect(claimed.json()).toMatchObject({ messages: [expect.anything()] })
    expect(await client.claim('reviewer', { waitMs: 10 })).toEqual([])
    const metrics = await relay.app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toContain('agent_comm_relay_waits_refused_total{kind="claim"} 1')
    expect(metrics.body).toContain('agent_comm_relay_waits_refused_total{kind="stream"} 1')
    controller.abort()
    await Promise.all(replyWaits)
    await untilWaitsOpen(relay, 0)
  })

  it('takes a new long poll once one of the parked ones was aborted', async () => {
    const { relay, client } = await cappedRelay(2)
    const first = parkedClaim(client)
    const second = parkedClaim(client)
    await untilWaitsOpen(relay, 2)
    // A wait no longer than the relay's Retry-After: refused once, it is not asked again.
    await expect(client.claim('builder', { waitMs: 1000 })).rejects.toMatchObject({
      relayCode: 'TOO_MANY_WAITS',
      status: 429,
    })
    first.abort()
    expect(await first.outcome).toMatchObject({ error: expect.anything() })
    await untilWaitsOpen(relay, 1)
    const third = parkedClaim(client)
    await untilWaitsOpen(relay, 2)
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'for whoever is parked' })
    const answered = await Promise.any([second.outcome, third.outcome])
    expect(answered).toMatchObject({ messages: [expect.anything()] })
    second.abort()
    third.abort()
    await untilWaitsOpen(relay, 0)
  })

  it('holds no slot after many aborted long polls, reply claims, waits and streams', async () => {
    const { relay, client } = await cappedRelay(4)
    for (let round = 0; round < 10; round++) {
      const controller = new AbortController()
      const { signal } = controller
      const stream = client.stream('builder', { signal })[Symbol.asyncIterator]()
      const pending: Promise<unknown>[] = [
        client.claim('builder', { waitMs: 30_000, signal }),
        client.claimReply('builder', 'msg_never_answered', { waitMs: 30_000, signal }),
        client.wait('builder', { timeoutMs: 30_000, signal }),
        stream.next() as Promise<IteratorResult<ClaimedMessage>>,
      ].map((p) => p.catch(() => undefined))
      await untilWaitsOpen(relay, 4)
      controller.abort()
      await Promise.all(pending)
      await untilWaitsOpen(relay, 0)
    }
    // Every slot is free again: as many new long polls park as the limit allows, and one more is refused.
    const parked = [parkedClaim(client), parkedClaim(client), parkedClaim(client), parkedClaim(client)]
    await untilWaitsOpen(relay, 4)
    const refused = await client.claim('builder', { waitMs: 1000 }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(RelayError)
    expect(refused).toMatchObject({ relayCode: 'TOO_MANY_WAITS' })
    for (const p of parked) p.abort()
    await untilWaitsOpen(relay, 0)
  })

  it('gives the slot back when a long poll times out or is answered', async () => {
    const { relay, client } = await cappedRelay(1)
    expect(await client.claim('builder', { waitMs: 20 })).toEqual([])
    expect(await client.wait('builder', { timeoutMs: 20 })).toBe(false)
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'answered at once' })
    expect(await client.claim('builder', { waitMs: 30_000 })).toHaveLength(1)
    expect(await waitsOpen(relay)).toBe(0)
  })

  it('lets an agent hold any number with 0', async () => {
    const { relay, client } = await cappedRelay(0)
    const parked = Array.from({ length: 12 }, () => parkedClaim(client))
    await untilWaitsOpen(relay, 12)
    for (const p of parked) p.abort()
    await untilWaitsOpen(relay, 0)
  })

  it('asks a refused long poll again after Retry-After, and claims once one of its waits ended', async () => {
    let free: () => Promise<void> = async () => undefined
    let freed: Promise<void> | undefined
    const { relay, client, sleeps } = await cappedRelay(1, { onSleep: () => (freed ??= free()) })
    const held = parkedClaim(client)
    await untilWaitsOpen(relay, 1)
    free = async () => {
      held.abort()
      await untilWaitsOpen(relay, 0)
    }
    const claim = client.claim('builder', { waitMs: 30_000 })
    await Promise.race([
      claim.then(() => expect.fail('answered before it was asked again')),
      vi.waitFor(() => expect(freed).toBeDefined(), { timeout: 30_000, interval: 10 }),
    ])
    await freed
    // Asked again once the relay's Retry-After (1 s) passed: now it waits, and the next message is its.
    await untilWaitsOpen(relay, 1)
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'for the retried claim' })
    expect(await claim).toMatchObject([{ message: { body: 'for the retried claim' } }])
    expect(sleeps).toEqual([1000])
    expect(await held.outcome).toMatchObject({ error: expect.anything() })
  })

  it("fails with the relay's hint once the long poll's own wait is spent, having waited no longer", async () => {
    const { relay, client, sleeps } = await cappedRelay(1)
    const held = parkedClaim(client)
    await untilWaitsOpen(relay, 1)
    const refused = await client.claim('builder', { waitMs: 2500 }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(RelayError)
    expect(refused).toMatchObject({
      relayCode: 'TOO_MANY_WAITS',
      status: 429,
      message: expect.stringMatching(
        /already has 1 long polls .*\(refused all 3 attempts over its 2500 ms wait\)$/,
      ),
      hint: expect.stringContaining('--max-waits'),
      details: { attempts: 3, waitMs: 2500, limit: 1, kind: 'claim' },
    })
    // 1 s twice; a third wait would have gone past the 2.5 s the caller gave.
    expect(sleeps).toEqual([1000, 1000])
    const wait = await client.wait('builder', { timeoutMs: 1500 }).catch((e: unknown) => e)
    expect(wait).toMatchObject({ relayCode: 'TOO_MANY_WAITS', details: { attempts: 2, kind: 'wait' } })
    // Nothing was claimed by any of them.
    await relay.spool.send({ fromAgent: 'architect', toAgent: 'builder', body: 'for the parked claim' })
    expect(await held.outcome).toMatchObject({ messages: [{ message: { body: 'for the parked claim' } }] })
  })

  it('asks a refused stream again up to the retries, then fails saying so', async () => {
    const { relay, client, sleeps } = await cappedRelay(1, { retries: 2 })
    const held = parkedClaim(client)
    await untilWaitsOpen(relay, 1)
    const refused = await client
      .stream('builder')
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e)
    expect(refused).toMatchObject({
      relayCode: 'TOO_MANY_WAITS',
      message: expect.stringContaining('(refused all 3 attempts)'),
      details: { attempts: 3, kind: 'stream' },
    })
    expect(sleeps).toEqual([1000, 1000])
    held.abort()
    await untilWaitsOpen(relay, 0)
  })
})
