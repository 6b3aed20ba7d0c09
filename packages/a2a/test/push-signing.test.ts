import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { A2APushes, A2ASigningKeys, type Sealer, SqliteA2AStore } from '../src/index.js'

const { onCleanup, tempDir } = testCleanups('agent-comm-a2a-test-')

/**
 * A test sealer (AES-256-GCM under a random key). The relay passes its `RelaySecretsKey` from
 * `@agent-comm/postgres`, which this package cannot depend on; apps/relay tests that one.
 */
function testSealer(): Sealer {
  const key = randomBytes(32)
  return {
    id: createHash('sha256').update(key).digest('hex').slice(0, 8),
    seal(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.')
    },
    open(sealed) {
      const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url')) as [
        Buffer,
        Buffer,
        Buffer,
      ]
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv)
        decipher.setAuthTag(tag)
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
      } catch {
        return undefined
      }
    },
  }
}

async function openStore() {
  const dir = tempDir('agent-comm-a2a-sign-')
  const spool = await Spool.open({ path: join(dir, 'relay.db') })
  onCleanup(() => spool.close())
  return { spool, store: spool.openShared(SqliteA2AStore.shared()) }
}

describe('signed push notifications', () => {
  it('generates one key pair on first start, shared by every opener, its private key sealed', async () => {
    const { store } = await openStore()
    const sealer = testSealer()
    const clock = { now: () => 1_000_000 }
    const [a, b] = await Promise.all([
      A2ASigningKeys.open({ store, sealer, clock }),
      A2ASigningKeys.open({ store, sealer, clock }),
    ])
    expect(await a.currentKid()).toBe(await b.currentKid())
    const [record] = store.signingKeys()
    expect(store.signingKeys()).toHaveLength(1)
    expect(record?.sealedPrivateJwk).not.toContain('"d"')
    expect(JSON.parse(record!.publicJwk)).not.toHaveProperty('d')
    // Another secrets key cannot open it: a clear error, not a signature nobody can verify.
    await expect(A2ASigningKeys.open({ store, sealer: testSealer(), clock })).rejects.toMatchObject({
      code: 'CONFIG',
    })
  })

  it('signs pushes a webhook verifies against the JWKS, bound to the body, the task and the webhook', async () => {
    const { store } = await openStore()
    const clock = { now: () => Date.now() }
    const keys = await A2ASigningKeys.open({
      store,
      sealer: testSealer(),
      clock,
      issuer: 'https://relay.test',
    })
    const received: { headers: IncomingHttpHeaders; body: string }[] = []
    const webhook = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        received.push({ headers: request.headers, body })
        response.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => webhook.close(() => resolve())))
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
    store.insertTask(
      {
        id: 't1',
        caller: 'acme',
        agent: 'helper',
        contextId: 'c1',
        messageId: 'm1',
        state: 'submitted',
        task: { id: 't1' },
        createdAt: 1,
        updatedAt: 1,
      },
      [{ task: { id: 't1', status: { state: 'TASK_STATE_SUBMITTED' } } }],
      { taskId: 't1', id: 'p1', config: { url, token: 'tok' } },
    )
    const pushes = new A2APushes({ store, clock, signer: keys, policy: { allowHosts: ['127.0.0.1'] } })
    expect(await pushes.deliverDue()).toBe(1)
    const [push] = received
    const jwt = push!.headers['x-a2a-notification-signature'] as string
    expect(push!.headers.authorization).toBe(`Bearer ${jwt}`)
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'ES256', kid: await keys.currentKid() })
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(await keys.jwks()), {
      issuer: 'https://relay.test',
      audience: url,
      maxTokenAge: '5m',
    })
    expect(payload).toMatchObject({
      taskId: 't1',
      request_body_sha256: createHash('sha256').update(push!.body).digest('hex'),
    })
    expect(payload.jti).toEqual(expect.any(String))
    // Another key set (another relay) does not verify it.
    const other = await A2ASigningKeys.open({ store: (await openStore()).store, sealer: testSealer(), clock })
    await expect(jwtVerify(jwt, createLocalJWKSet(await other.jwks()))).rejects.toThrow()
  })

  it('rotates the key by age, keeping the old public key in the JWKS for the grace period', async () => {
    const { store } = await openStore()
    let now = 1_000_000
    const clock = { now: () => now }
    const sealer = testSealer()
    const options = { store, sealer, clock, rotateAfterMs: 10_000, graceMs: 5_000, refreshMs: 1_000 }
    const keys = await A2ASigningKeys.open(options)
    const first = await keys.currentKid()
    const signed = await keys.sign({ body: '{}', taskId: 't', audience: 'https://hook.test/' })
    now += 10_000
    // The next signature finds the key too old: a new one signs, the old one is still published.
    const later = await keys.sign({ body: '{}', taskId: 't', audience: 'https://hook.test/' })
    const second = await keys.currentKid()
    expect(second).not.toBe(first)
    expect(decodeProtectedHeader(later).kid).toBe(second)
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([second, first])
    // A replica that had not rotated yet reads the new key; the old signature still verifies in grace.
    const replica = await A2ASigningKeys.open(options)
    expect(await replica.currentKid()).toBe(second)
    await expect(
      jwtVerify(signed, createLocalJWKSet(await replica.jwks()), { currentDate: new Date(now) }),
    ).resolves.toBeDefined()
    now += 5_001
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([second])
    const rotated = await keys.rotate()
    expect(rotated).not.toBe(second)
    expect((await replica.jwks()).keys.map((k) => k.kid)).toEqual([rotated, second])
  })
})
