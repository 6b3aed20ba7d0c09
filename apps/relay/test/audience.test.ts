import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay, tempDir } from './helpers.js'

const path = '/api/v1/agents/builder/claim'

describe('the relay audience (signature version 2)', () => {
  it('refuses at relay B a request signed for relay A, though both know the secret', async () => {
    const dir = tempDir()
    const relayA = await startTestRelay({ listen: false, dir, options: { audience: 'relay-a' } })
    const relayB = await startTestRelay({ listen: false, dir, options: { audience: 'relay-b' } })
    expect((await relayA.signed('builder', 'POST', path, {}, { audience: 'relay-a' })).statusCode).toBe(200)
    const moved = await relayB.signed('builder', 'POST', path, {}, { audience: 'relay-a' })
    expect(moved.statusCode).toBe(401)
    expect(errorOf(moved).code).toBe('UNAUTHENTICATED')
    expect((await relayB.signed('builder', 'POST', path, {}, { audience: 'relay-b' })).statusCode).toBe(200)
    // Version 1, bound to no relay, is still accepted by default.
    expect((await relayB.signed('builder', 'POST', path, {})).statusCode).toBe(200)
  })

  it('refuses version 1 when the relay requires its audience, saying which audience to sign for', async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { audience: 'relay.example:8420', requireAudience: true },
    })
    const old = await relay.signed('builder', 'POST', path, {})
    expect(old.statusCode).toBe(401)
    expect((old.json() as { error: { hint: string } }).error.hint).toContain("'relay.example:8420'")
    const bound = await relay.signed('builder', 'POST', path, {}, { audience: 'relay.example:8420' })
    expect(bound.statusCode).toBe(200)
  })

  it('refuses a version 2 signature at a relay without an audience', async () => {
    const relay = await startTestRelay({ listen: false })
    const res = await relay.signed('builder', 'POST', path, {}, { audience: 'relay-a' })
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).message).toContain('no audience configured')
  })

  it('signs for the audience a RelayClient is given', async () => {
    const relay = await startTestRelay({ options: { audience: 'relay-a', requireAudience: true } })
    const { RelayClient } = await import('@agent-comm/transport-http')
    const secretFor = (id: string) => relay.secrets[id]
    const bound = new RelayClient({ baseUrl: relay.url, secretFor, clock: relay.clock, audience: 'relay-a' })
    const elsewhere = new RelayClient({
      baseUrl: relay.url,
      secretFor,
      clock: relay.clock,
      audience: 'relay-b',
      retries: 0,
    })
    try {
      expect(await bound.claim('builder')).toEqual([])
      await expect(elsewhere.claim('builder')).rejects.toThrow(/Signature check failed/)
    } finally {
      await bound.close()
      await elsewhere.close()
    }
  })
})
