import { createNodePostgresClient, RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { RelayClient, signRequest } from '@agent-comm/transport-http'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  createRelayLogger,
  type RelayConfig,
  type RelayHandle,
  relayConfig,
  startRelay,
} from '../src/index.js'
import { startPostgresReplica, tempDir } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'relay_replicas' })
afterAll(async () => {
  await db.drop()
})

const open: (RelayHandle | RelayClient)[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

const key = RelaySecretsKey.generate().toBase64()
let schemas = 0

/** Two replicas of one relay on one PostgreSQL schema, as two processes behind a load balancer. */
async function replicas(
  count = 2,
  extra: Partial<RelayConfig> = {},
  schema = `relay_r${schemas++}`,
): Promise<RelayHandle[]> {
  const started: RelayHandle[] = []
  for (let i = 0; i < count; i++) {
    started.push(
      await startPostgresReplica({
        url: db.url,
        schema,
        secretsKey: key,
        config: { rateLimitPerMinute: 0, ...extra },
      }),
    )
  }
  return started
}

function clientOf(relay: RelayHandle, secrets: Record<string, string>): RelayClient {
  const client = new RelayClient({ baseUrl: relay.url, secretFor: (id) => secrets[id], retries: 0 })
  open.push(client)
  return client
}

describe.skipIf(db.kind !== 'server')('relay replicas on PostgreSQL', () => {
  it('refuses to start without the secrets key, or with another one, saying what to set', async () => {
    const config = relayConfig({
      dataDir: tempDir(),
      port: 0,
      databaseUrl: db.url,
      postgresSchema: 'relay_keys',
    })
    const logger = createRelayLogger({ level: 'silent' })
    await expect(startRelay(config, { logger })).rejects.toMatchObject({
      code: 'CONFIG',
      hint: expect.stringContaining('AGENT_COMM_RELAY_SECRETS_KEY'),
    })
    const first = await startRelay({ ...config, secretsKey: key }, { logger })
    await first.close()
    await expect(
      startRelay({ ...config, secretsKey: RelaySecretsKey.generate().toBase64() }, { logger }),
    ).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('is not the one') })
  })

  it('serves one agent on both replicas: a secret made on one authenticates on the other, a send on B is claimed on A', async () => {
    const [a, b] = await replicas()
    const secrets = {
      architect: (await a!.secrets.generate('architect')).secret,
      builder: (await b!.secrets.generate('builder')).secret,
    }
    const onA = clientOf(a!, secrets)
    const onB = clientOf(b!, secrets)
    const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'go' })
    await onB.send(message)
    const [claimed] = await onA.claim('builder')
    expect(claimed?.message.id).toBe(message.id)
    await onA.ack(message.id, 'builder')
    expect((await onB.status(message.id, { as: 'architect' })).deliveries[0]?.status).toBe('acked')
  })

  it('refuses on replica B a signed request already accepted by replica A (the nonce is shared)', async () => {
    const [a, b] = await replicas()
    const secret = (await a!.secrets.generate('architect')).secret
    await clientOf(a!, { architect: secret }).register({ agentId: 'architect' })
    const path = '/api/v1/agents/architect/claim'
    const body = JSON.stringify({ limit: 1 })
    const headers = {
      'content-type': 'application/json',
      ...signRequest(secret, { method: 'POST', path, body, agentId: 'architect', timestamp: Date.now() }),
    }
    const first = await fetch(`${a!.url}${path}`, { method: 'POST', headers, body })
    expect(first.status).toBe(200)
    const replayed = await fetch(`${b!.url}${path}`, { method: 'POST', headers, body })
    expect(replayed.status).toBe(409)
    expect(((await replayed.json()) as { error: { code: string } }).error.code).toBe('AUTH_REPLAY')
  })

  it('wakes a long poll parked on replica A with a send that arrives on replica B', async () => {
    const [a, b] = await replicas()
    const secrets = {
      architect: (await a!.secrets.generate('architect')).secret,
      builder: (await a!.secrets.generate('builder')).secret,
    }
    const onA = clientOf(a!, secrets)
    const onB = clientOf(b!, secrets)
    const parked = onA.claim('builder', { waitMs: 25_000 })
    // Once the poll is parked on A (its gauge says so), the send goes to the other replica.
    await expect
      .poll(async () =>
        /^agent_comm_relay_long_polls 1$/m.test(await (await fetch(`${a!.url}/metrics`)).text()),
      )
      .toBe(true)
    const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Wake', body: 'up' })
    await onB.send(message)
    const [claimed] = await parked
    expect(claimed?.message.id).toBe(message.id)
  })

  it('answers readiness 503 while the database is unreachable, and liveness 200 all along', async () => {
    const [a] = await replicas(1)
    expect((await fetch(`${a!.url}/api/v1/health/ready`)).status).toBe(200)
    const database = new URL(db.url).pathname.slice(1)
    const elsewhere = new URL(db.url)
    elsewhere.pathname = '/postgres'
    const admin = createNodePostgresClient({ url: elsewhere.toString() })
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`)
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
        database,
      ])
      await expect
        .poll(async () => (await fetch(`${a!.url}/api/v1/health/ready`)).status, { timeout: 30_000 })
        .toBe(503)
      expect((await fetch(`${a!.url}/api/v1/health/live`)).status).toBe(200)
      expect((await fetch(`${a!.url}/api/v1/health`)).status).toBe(503)
    } finally {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`)
      await admin.end()
    }
    await expect
      .poll(async () => (await fetch(`${a!.url}/api/v1/health/ready`)).status, { timeout: 30_000 })
      .toBe(200)
  })

  it('counts failed authentications per replica, and never locks out a correctly signed agent', async () => {
    const [a, b] = await replicas(2, { authFailuresPerMinute: 3 })
    const secret = (await a!.secrets.generate('architect')).secret
    await clientOf(a!, { architect: secret }).register({ agentId: 'architect' })
    const path = '/api/v1/agents/architect/claim'
    const body = JSON.stringify({ limit: 1 })
    const post = (relay: RelayHandle, signWith: string) =>
      fetch(`${relay.url}${path}`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          ...signRequest(signWith, {
            method: 'POST',
            path,
            body,
            agentId: 'architect',
            timestamp: Date.now(),
          }),
        },
      })
    const wrong = 'acs_not-the-secret-of-architect-at-all'
    for (let i = 0; i < 3; i++) expect((await post(a!, wrong)).status).toBe(401)
    // Replica A now refuses this address's badly signed requests...
    expect((await post(a!, wrong)).status).toBe(429)
    // ...but not the agent that signs correctly from the same address.
    expect((await post(a!, secret)).status).toBe(200)
    // Replica B counts its own failures: the address has none there yet.
    expect((await post(b!, wrong)).status).toBe(401)
  })
})
