import { RelaySecretsKey } from '@agent-comm/postgres'
import { createMessage } from '@agent-comm/protocol'
import { describeOnPrivateCluster } from '@agent-comm/test-support/private-cluster'
import { ApiPath, RelayClient, signRequest } from '@agent-comm/transport-http'
import { afterAll, expect, it } from 'vitest'
import { createRelayLogger, type RelayHandle, relayConfig, startRelay } from '../src/index.js'
import { tempDir } from './helpers.js'

/**
 * A relay replica whose PostgreSQL server crashes and comes back. The shared test server must stay up for
 * the other test files, so this file starts a cluster of its own; where that is impossible it says why and
 * skips, except in CI, where a missing PostgreSQL 15 is a failure.
 */
describeOnPrivateCluster('a relay on a PostgreSQL server that restarts', (cluster) => {
  let relay: RelayHandle | undefined
  let client: RelayClient | undefined

  afterAll(async () => {
    await client?.close()
    await relay?.close()
  })

  it('answers 503 with Retry-After while the database is down, and serves again once it is back, without a restart', async () => {
    relay = await startRelay(
      relayConfig({
        dataDir: tempDir(),
        port: 0,
        databaseUrl: cluster().url,
        secretsKey: RelaySecretsKey.generate().toBase64(),
        rateLimitPerMinute: 0,
      }),
      { logger: createRelayLogger({ level: 'silent' }) },
    )
    const secrets = {
      architect: (await relay.secrets.generate('architect')).secret,
      builder: (await relay.secrets.generate('builder')).secret,
    }
    client = new RelayClient({
      baseUrl: relay.url,
      secretFor: (id) => secrets[id as keyof typeof secrets],
      retries: 0,
    })
    /** A correctly signed POST as architect, answered as it comes (the client would turn it into an error). */
    const post = (path: string, body: unknown) => {
      const text = JSON.stringify(body)
      return fetch(`${relay!.url}${path}`, {
        method: 'POST',
        body: text,
        headers: {
          'content-type': 'application/json',
          ...signRequest(secrets.architect, {
            method: 'POST',
            path,
            body: text,
            agentId: 'architect',
            timestamp: Date.now(),
          }),
        },
      })
    }
    await client.register({ agentId: 'architect' })
    await client.register({ agentId: 'builder' })
    const before = createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'before the crash' })
    await client.send(before)

    await cluster().stop('immediate')
    const during = createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'during the outage' })
    for (const refused of [
      await post(ApiPath.messages, { message: during }),
      await post(ApiPath.claim('architect'), { limit: 1 }),
    ]) {
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(await refused.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } })
    }
    expect((await fetch(`${relay.url}/api/v1/health/ready`)).status).toBe(503)

    await cluster().start()
    // The same relay, never restarted: the send refused during the outage goes through on a retry, and
    // both messages are delivered.
    await expect
      .poll(
        () =>
          client!.send(during).then(
            () => true,
            () => false,
          ),
        { timeout: 60_000 },
      )
      .toBe(true)
    const claimed = await client.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id).sort()).toEqual([before.id, during.id].sort())
    for (const c of claimed) await client.ack(c.message.id, 'builder')
    expect((await fetch(`${relay.url}/api/v1/health/ready`)).status).toBe(200)
  })
})
