import { signRequest } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { Authenticator, AuthFailure, type SignedRequest } from '../src/auth.js'
import type { NonceStore } from '../src/nonces.js'

const NOW = 1_767_225_600_000
const SECRET = 'secret-of-builder-secret-of-builder'

/** A nonce store that answers at once, as an in-memory one would. */
function syncNonces(): NonceStore {
  const seen = new Set<string>()
  return {
    remember(agentId, nonce, timestamp) {
      const key = `${timestamp}\n${agentId}\n${nonce}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    },
    prune: () => 0,
    flush() {},
    close() {},
  }
}

function authenticator(options: { nonces?: NonceStore; asyncSecrets?: boolean } = {}): Authenticator {
  const secretsFor = (agentId: string) => (agentId === 'builder' ? [SECRET] : [])
  return new Authenticator({
    secrets: { secretsFor: options.asyncSecrets ? async (id: string) => secretsFor(id) : secretsFor },
    nonces: options.nonces ?? syncNonces(),
    clock: { now: () => NOW },
    windowMs: 300_000,
    adminId: 'admin',
    adminSecrets: [],
  })
}

function request(secret = SECRET, nonce = 'AAAAAAAAAAAAAAAAAAAAAA'): SignedRequest {
  const body = '{"limit":1}'
  const path = '/api/v1/agents/builder/claim'
  const headers = signRequest(secret, {
    method: 'POST',
    path,
    body,
    agentId: 'builder',
    timestamp: NOW,
    nonce,
  })
  return { method: 'POST', url: path, headers, body: Buffer.from(body) }
}

describe('Authenticator.check', () => {
  it('answers at once, without a promise, when the secret and nonce stores do; a replay is refused at once', async () => {
    const auth = authenticator()
    const caller = auth.check(request())
    expect(caller).not.toBeInstanceOf(Promise)
    expect(caller).toEqual({ agentId: 'builder', admin: false })
    let replay: unknown
    try {
      auth.check(request())
    } catch (error) {
      replay = error
    }
    expect(replay).toBeInstanceOf(AuthFailure)
    expect((replay as AuthFailure).reason).toBe('replay')
    expect((replay as AuthFailure).status).toBe(409)
    // `authenticate` gives the same answers as a promise.
    await expect(auth.authenticate(request())).rejects.toMatchObject({ reason: 'replay' })
    await expect(auth.authenticate(request(SECRET, 'BBBBBBBBBBBBBBBBBBBBBB'))).resolves.toEqual({
      agentId: 'builder',
      admin: false,
    })
  })

  it('refuses a wrong signature at once, and records no nonce for it', () => {
    const auth = authenticator()
    expect(() => auth.check(request('another-secret-another-secret-1234'))).toThrow(
      expect.objectContaining({ reason: 'bad_signature' }),
    )
    expect(auth.check(request())).toEqual({ agentId: 'builder', admin: false })
  })

  it('answers with a promise when the secret store does (a database), the nonce still checked', async () => {
    const auth = authenticator({ asyncSecrets: true })
    const caller = auth.check(request())
    expect(caller).toBeInstanceOf(Promise)
    await expect(caller).resolves.toEqual({ agentId: 'builder', admin: false })
    await expect(auth.check(request())).rejects.toMatchObject({ reason: 'replay' })
  })
})
