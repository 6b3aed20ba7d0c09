import { ManualClock } from '@agent-comm/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createNodePostgresClient,
  openPostgresRelayStores,
  PostgresNonceStore,
  type PostgresRelayStores,
  RelaySecretsKey,
} from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'

const START = Date.UTC(2026, 5, 1, 9, 0)

const db: TestDatabase = await createTestDatabase({ name: 'relay_stores' })
afterAll(async () => {
  await db.drop()
})

// Two "replicas" of one relay: two store sets on one database, as two processes would open them.
const describeServer = describe.skipIf(db.kind !== 'server')

describeServer('the relay stores on PostgreSQL', () => {
  let schemaCount = 0
  async function replicas(
    key: RelaySecretsKey,
    clock = new ManualClock(START),
  ): Promise<{ a: PostgresRelayStores; b: PostgresRelayStores; clock: ManualClock; schema: string }> {
    const schema = `relay_t${schemaCount++}`
    const a = await openPostgresRelayStores({ url: db.url, schema, key, clock, windowMs: 60_000 })
    const b = await openPostgresRelayStores({ url: db.url, schema, key, clock, windowMs: 60_000 })
    return { a, b, clock, schema }
  }

  it('refuses on every replica a nonce accepted by one, until it leaves the window and is swept', async () => {
    const { a, b, clock } = await replicas(RelaySecretsKey.generate())
    try {
      expect(await a.nonces.remember('agent-a', 'n1', START)).toBe(true)
      expect(await b.nonces.remember('agent-a', 'n1', START)).toBe(false)
      expect(await a.nonces.remember('agent-a', 'n1', START)).toBe(false)
      expect(await b.nonces.remember('agent-b', 'n1', START)).toBe(true)
      // Both at once: exactly one wins.
      const raced = await Promise.all([
        a.nonces.remember('agent-a', 'n2', START),
        b.nonces.remember('agent-a', 'n2', START),
      ])
      expect(raced.filter(Boolean)).toHaveLength(1)
      clock.advance(61_000)
      expect(await a.nonces.prune(clock.now() - 60_000)).toBe(3)
      expect(await b.nonces.remember('agent-a', 'n1', START)).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('writes nonces arriving together as one batch, refusing every replay within it and across replicas', async () => {
    const { a, b } = await replicas(RelaySecretsKey.generate())
    try {
      // 40 requests at once on each replica, every nonce sent twice on one of them and once on the other.
      const nonces = Array.from({ length: 40 }, (_, i) => `batch-${i}`)
      const answers = await Promise.all([
        ...nonces.map((n) => a.nonces.remember('agent-a', n, START)),
        ...nonces.map((n) => a.nonces.remember('agent-a', n, START)),
        ...nonces.map((n) => b.nonces.remember('agent-a', n, START)),
      ])
      for (let i = 0; i < nonces.length; i++) {
        const forNonce = [answers[i], answers[i + nonces.length], answers[i + 2 * nonces.length]]
        expect(forNonce.filter(Boolean)).toHaveLength(1)
      }
      // The same nonce of another agent is another key.
      expect(await b.nonces.remember('agent-b', 'batch-0', START)).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  for (const [commit, expected] of [
    [undefined, 'off'],
    ['relaxed', 'off'],
    ['durable', 'on'],
  ] as const) {
    it(`commits a nonce with synchronous_commit ${expected} when the mode is ${commit ?? 'left out'}, for that statement alone`, async () => {
      const key = RelaySecretsKey.generate()
      const { a, b, schema } = await replicas(key)
      await a.close()
      await b.close()
      // One connection, so the statement after the nonce's runs where the nonce's ran.
      const client = createNodePostgresClient({ url: db.url, poolSize: 1 })
      try {
        const nonces = await PostgresNonceStore.open({
          client,
          schema,
          location: 'test',
          ...(commit === undefined ? {} : { commit }),
        })
        // A trigger records the setting in force while the nonce's own statement runs.
        await client.query(`CREATE TABLE "${schema}".seen (setting text)`)
        await client.query(
          `CREATE FUNCTION "${schema}".record_setting() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO "${schema}".seen VALUES (current_setting('synchronous_commit')); RETURN NEW; END $$`,
        )
        await client.query(
          `CREATE TRIGGER record_setting BEFORE INSERT ON "${schema}".relay_nonces
           FOR EACH ROW EXECUTE FUNCTION "${schema}".record_setting()`,
        )
        expect(await nonces.remember('agent-a', 'mode', Date.now())).toBe(true)
        const seen = await client.query<{ setting: string }>(`SELECT setting FROM "${schema}".seen`)
        expect(seen.map((r) => r.setting)).toEqual([expected])
        // Local to that statement: the next one on the same connection has the default again.
        const [after] = await client.query<{ setting: string }>(
          "SELECT current_setting('synchronous_commit') AS setting",
        )
        expect(after?.setting).toBe('on')
        await nonces.close()
        // The relay's opener passes the mode on.
        const stores = await openPostgresRelayStores({
          url: db.url,
          schema,
          key,
          ...(commit === undefined ? {} : { nonceCommit: commit }),
        })
        expect(await stores.nonces.remember('agent-a', 'mode-2', Date.now())).toBe(true)
        await stores.close()
        const both = await client.query<{ setting: string }>(`SELECT setting FROM "${schema}".seen`)
        expect(both.map((r) => r.setting)).toEqual([expected, expected])
      } finally {
        await client.end()
      }
    })
  }

  it('rejects every request of a batch PostgreSQL could not write, and writes the next batch', async () => {
    const { a, b, schema } = await replicas(RelaySecretsKey.generate())
    const client = db.client()
    try {
      await client.query(`ALTER TABLE "${schema}".relay_nonces RENAME TO relay_nonces_away`)
      const failed = await Promise.allSettled([
        a.nonces.remember('agent-a', 'lost-1', START),
        a.nonces.remember('agent-a', 'lost-2', START),
      ])
      for (const result of failed) {
        expect(result).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE' } })
      }
      await client.query(`ALTER TABLE "${schema}".relay_nonces_away RENAME TO relay_nonces`)
      // Nothing was recorded for the refused requests: signed again, they pass once.
      expect(await a.nonces.remember('agent-a', 'lost-1', START)).toBe(true)
      expect(await b.nonces.remember('agent-a', 'lost-1', START)).toBe(false)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('keeps secrets sealed, rotates with a grace period, and a revocation reaches the other replica', async () => {
    const key = RelaySecretsKey.generate()
    const { a, b, clock, schema } = await replicas(key)
    try {
      const issued = await a.secrets.generate('agent-a')
      expect(await b.secrets.secretsFor('agent-a')).toEqual([issued.secret])
      // No secret for a name no agent may be registered under (an A2A caller's, agent-comm's own sender).
      for (const reserved of ['a2a:acme', 'system:expiry'])
        await expect(a.secrets.generate(reserved)).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(a.secrets.generate('agent-a')).rejects.toMatchObject({ code: 'INVALID_STATE' })
      const rows = await db.client().query<{ sealed: string }>(`SELECT sealed FROM "${schema}".relay_secrets`)
      expect(rows).toHaveLength(1)
      expect(rows[0]!.sealed).not.toContain(issued.secret.slice(4, 20))

      const rotated = await b.secrets.rotate('agent-a', { graceSeconds: 10 })
      expect(new Set(await a.secrets.secretsFor('agent-a'))).toEqual(new Set([issued.secret, rotated.secret]))
      expect(await a.secrets.list()).toEqual([
        expect.objectContaining({
          agentId: 'agent-a',
          activeSecrets: 2,
          previousValidUntil: rotated.previousValidUntil,
        }),
      ])
      clock.advance(11_000)
      expect(await a.secrets.secretsFor('agent-a')).toEqual([rotated.secret])

      // Cached on b; the revocation on a reaches it through the notification.
      expect(await b.secrets.secretsFor('agent-a')).toEqual([rotated.secret])
      await a.secrets.revoke('agent-a')
      await expect.poll(() => b.secrets.secretsFor('agent-a'), { timeout: 20_000 }).toEqual([])
      await expect(a.secrets.revoke('agent-a')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('stops honouring a secret removed without a notification within 30 s of clock time', async () => {
    const key = RelaySecretsKey.generate()
    const clock = new ManualClock(START)
    const schema = `relay_t${schemaCount++}`
    const a = await openPostgresRelayStores({ url: db.url, schema, key, clock, windowMs: 60_000 })
    const issued = await a.secrets.generate('agent-a')
    // b starts listening only after the secret was made: a late notification of that change would clear
    // its cache and make it read again before the floor (seen on a loaded machine).
    const b = await openPostgresRelayStores({ url: db.url, schema, key, clock, windowMs: 60_000 })
    try {
      expect(await b.secrets.secretsFor('agent-a')).toEqual([issued.secret])
      // Deleted behind the stores' backs (a lost notification looks the same): b answers from its cache…
      await db.client().query(`DELETE FROM "${schema}".relay_secrets WHERE agent_id = 'agent-a'`)
      clock.advance(29_000)
      expect(await b.secrets.secretsFor('agent-a')).toEqual([issued.secret])
      // …until the floor: then it reads again.
      clock.advance(1_000)
      expect(await b.secrets.secretsFor('agent-a')).toEqual([])
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('refuses a wrong key with a hint, and re-encrypts every secret when the key is rotated', async () => {
    const key = RelaySecretsKey.generate()
    const { a, b, schema } = await replicas(key)
    const issued = await a.secrets.generate('agent-a')
    await a.close()
    await b.close()
    const wrong = RelaySecretsKey.generate()
    await expect(openPostgresRelayStores({ url: db.url, schema, key: wrong })).rejects.toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('AGENT_COMM_RELAY_SECRETS_KEY'),
    })
    const old = await openPostgresRelayStores({ url: db.url, schema, key })
    expect(await old.secrets.rotateKey(wrong)).toMatchObject({ reencrypted: 1, keyId: wrong.id })
    await old.close()
    await expect(openPostgresRelayStores({ url: db.url, schema, key })).rejects.toMatchObject({
      code: 'CONFIG',
    })
    const renewed = await openPostgresRelayStores({ url: db.url, schema, key: wrong })
    try {
      expect(await renewed.secrets.secretsFor('agent-a')).toEqual([issued.secret])
    } finally {
      await renewed.close()
    }
  })

  it('reads a key only when it is 32 bytes of base64', () => {
    const key = RelaySecretsKey.generate()
    expect(RelaySecretsKey.fromBase64(key.toBase64(), 'X').id).toBe(key.id)
    expect(() => RelaySecretsKey.fromBase64('short', 'AGENT_COMM_RELAY_SECRETS_KEY')).toThrow(
      /AGENT_COMM_RELAY_SECRETS_KEY is not a relay secrets key/,
    )
  })
})
