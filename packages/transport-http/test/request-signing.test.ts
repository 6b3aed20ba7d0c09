import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  AUTH_SCHEME,
  bodyDigest,
  canonicalRequest,
  computeSignature,
  newNonce,
  readAuthHeaders,
  signRequest,
  verifySignature,
} from '../src/index.js'
import { RequestSigner } from '../src/request-signer.js'

const parts = {
  method: 'post',
  path: '/api/v1/agents/builder/claim?x=1',
  body: '{"limit":1}',
  agentId: 'builder',
  timestamp: 1_767_225_600_000,
  nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
}

describe('request signing', () => {
  it('signs the scheme, method, path with query, timestamp, nonce, agent and body hash, one per line', () => {
    const bodySha256 = createHash('sha256').update(parts.body).digest('hex')
    expect(canonicalRequest({ ...parts, bodySha256 })).toBe(
      [AUTH_SCHEME, 'POST', parts.path, '1767225600000', parts.nonce, 'builder', bodySha256].join('\n'),
    )
    const headers = signRequest('s3cret-s3cret-s3cret', parts)
    const expected = createHmac('sha256', 's3cret-s3cret-s3cret')
      .update(canonicalRequest({ ...parts, bodySha256 }))
      .digest('hex')
    expect(headers).toEqual({
      'x-agent-id': 'builder',
      'x-timestamp': '1767225600000',
      'x-nonce': parts.nonce,
      'x-signature': expected,
    })
  })

  it('hashes a missing body as the empty string', () => {
    expect(bodyDigest(undefined)).toBe(createHash('sha256').update('').digest('hex'))
    expect(bodyDigest(Buffer.from('{}'))).toBe(bodyDigest('{}'))
  })

  it('verifies against any of the secrets and refuses any change', () => {
    const canonical = canonicalRequest({ ...parts, bodySha256: bodyDigest(parts.body) })
    const signature = computeSignature('new-secret-new-secret', canonical)
    expect(verifySignature(['old-secret-old-secret', 'new-secret-new-secret'], canonical, signature)).toBe(
      true,
    )
    expect(verifySignature(['old-secret-old-secret'], canonical, signature)).toBe(false)
    expect(verifySignature(['new-secret-new-secret'], `${canonical} `, signature)).toBe(false)
    expect(verifySignature(['new-secret-new-secret'], canonical, signature.toUpperCase())).toBe(false)
    expect(verifySignature(['new-secret-new-secret'], canonical, signature.slice(2))).toBe(false)
    expect(verifySignature([], canonical, signature)).toBe(false)
  })

  it('makes fresh 128-bit nonces', () => {
    const nonces = new Set(Array.from({ length: 1000 }, newNonce))
    expect(nonces.size).toBe(1000)
    expect([...nonces][0]).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('reads well-formed auth headers and names the first malformed one', () => {
    const headers = signRequest('secret-secret-secret', parts)
    expect(readAuthHeaders(headers)).toEqual({
      ok: true,
      value: {
        agentId: 'builder',
        timestamp: parts.timestamp,
        nonce: parts.nonce,
        signature: headers['x-signature'],
        version: 1,
      },
    })
    // Version 2 binds the relay's audience: `v2=` before the hex, and another canonical string.
    const v2 = signRequest('secret-secret-secret', { ...parts, audience: 'relay-a' })
    expect(v2['x-signature']).toBe(
      `v2=${computeSignature('secret-secret-secret', canonicalRequest({ method: parts.method, path: parts.path, bodySha256: bodyDigest(parts.body), timestamp: parts.timestamp, nonce: parts.nonce, agentId: 'builder', audience: 'relay-a' }))}`,
    )
    expect(readAuthHeaders(v2)).toMatchObject({
      ok: true,
      value: { version: 2, signature: v2['x-signature']!.slice(3) },
    })
    expect(v2['x-signature']!.slice(3)).not.toBe(headers['x-signature'])
    const cases: [Record<string, string>, string][] = [
      [{ 'x-agent-id': 'bad id' }, 'X-Agent-ID'],
      [{ 'x-timestamp': '12.5' }, 'X-Timestamp'],
      [{ 'x-nonce': 'short' }, 'X-Nonce'],
      [{ 'x-nonce': 'has\nnewline-aaaaaaaaaaaaa' }, 'X-Nonce'],
      [{ 'x-signature': 'zz' }, 'X-Signature'],
      [{ 'x-signature': `v3=${'a'.repeat(64)}` }, 'X-Signature'],
    ]
    for (const [change, header] of cases) {
      const read = readAuthHeaders({ ...headers, ...change })
      expect(read.ok ? undefined : read.problem.header).toBe(header)
    }
    expect(readAuthHeaders({})).toMatchObject({ ok: false, problem: { header: 'X-Agent-ID' } })
  })
})

describe('RequestSigner', () => {
  const signer = () =>
    new RequestSigner({ secretFor: () => 's3cret-s3cret-s3cret', clock: { now: () => 1_767_225_600_000 } })

  it('refuses a malformed agent id every time, and signs a well-formed one every time after its first check', () => {
    const s = signer()
    for (let i = 0; i < 2; i++) {
      expect(() => s.sign('../etc', 'GET', '/x', '')).toThrow(/agent id/)
      expect(() => s.sign('', 'GET', '/x', '')).toThrow(/agent id/)
    }
    const first = s.sign('builder', 'GET', '/x', '')
    const second = s.sign('builder', 'GET', '/x', '')
    expect(first['x-agent-id']).toBe('builder')
    expect(second['x-nonce']).not.toBe(first['x-nonce'])
    expect(() => s.sign('..', 'GET', '/x', '')).toThrow(/agent id/)
  })
})
