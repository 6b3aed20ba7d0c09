import { createMessage } from '@agent-comm/protocol'
import { freePort } from '@agent-comm/test-support'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { onCleanup, startTestRelay } from './helpers.js'

describe('a client given several relay URLs', () => {
  it('moves on to the next relay when one cannot be reached, and a retried send is a reported duplicate', async () => {
    const relay = await startTestRelay()
    const dead = `http://127.0.0.1:${await freePort()}`
    const client = new RelayClient({
      baseUrl: `${dead}, ${relay.url}`,
      secretFor: (id) => relay.secrets[id],
      retries: 0,
      clock: relay.clock,
    })
    onCleanup(() => client.close())
    expect(client.baseUrls).toEqual([dead, relay.url])
    const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'go' })
    const first = await client.send(message)
    expect(first.duplicate).toBe(false)
    // The same message again (as a retry after a lost answer would send it): recognised, not stored twice.
    const again = await client.send(message)
    expect(again.duplicate).toBe(true)
    const claimed = await client.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([message.id])
  })

  it('says which relays it tried when none can be reached', async () => {
    const client = new RelayClient({
      baseUrl: [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`],
      secretFor: () => 'a-secret-of-sixteen-chars',
      retries: 0,
    })
    onCleanup(() => client.close())
    await expect(client.health()).rejects.toMatchObject({
      relayCode: 'UNAVAILABLE',
      message: expect.stringContaining('nor the other 1 given'),
    })
  })
})
