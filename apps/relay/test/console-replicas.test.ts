import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { RelayClient } from '@agent-comm/transport-http'
import type { FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createRelay,
  createRelayLogger,
  openRelayStorage,
  type RelayHandle,
  relayConfig,
  startLocalConsole,
} from '../src/index.js'
import { startPostgresReplica, tempDir } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'console_replicas' })
afterAll(async () => {
  await db.drop()
})

const ADMIN_SECRET = 'operator-secret-for-the-console-replica-test'

/** Two replicas of one relay on one PostgreSQL schema, as two processes behind a load balancer. */
async function replicas(schema: string): Promise<[RelayHandle, RelayHandle]> {
  const key = RelaySecretsKey.generate().toBase64()
  const start = () =>
    startPostgresReplica({
      url: db.url,
      schema,
      secretsKey: key,
      config: { rateLimitPerMinute: 0, adminSecret: ADMIN_SECRET },
    })
  return [await start(), await start()]
}

describe.skipIf(db.kind !== 'server')('console sessions shared by relay replicas on PostgreSQL', () => {
  it('accepts on B a session made on A, with its CSRF token, and signing out on A ends it on B', async () => {
    const [a, b] = await replicas('console_rep1')
    const signIn = await fetch(`${a.url}/api/v1/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: 'admin', secret: ADMIN_SECRET }),
    })
    expect(signIn.status).toBe(200)
    // The cookie with its page key, as the page sends them (the key is what no other port gets).
    const { csrfToken, pageKey } = (await signIn.json()) as { csrfToken: string; pageKey: string }
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
    const key = { 'x-console-key': pageKey }

    const onB = await fetch(`${b.url}/api/v1/console/session`, { headers: { cookie, ...key } })
    expect(onB.status).toBe(200)
    expect(await onB.json()).toMatchObject({ agentId: 'admin', admin: true })
    // A state change on B with the token A gave: B checks it against the session's stored secret.
    const sent = await fetch(`${b.url}/api/v1/console/messages`, {
      method: 'POST',
      headers: { cookie, ...key, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'someone', body: 'from replica B' }),
    })
    expect(sent.status).toBe(200)
    const refused = await fetch(`${b.url}/api/v1/console/messages`, {
      method: 'POST',
      headers: { cookie, ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'someone', body: 'no token' }),
    })
    expect(refused.status).toBe(403)

    const signOut = await fetch(`${a.url}/api/v1/console/session`, {
      method: 'DELETE',
      headers: { cookie, ...key, 'x-csrf-token': csrfToken },
    })
    expect(signOut.status).toBe(204)
    const afterwards = await fetch(`${b.url}/api/v1/console/inbox`, { headers: { cookie, ...key } })
    expect(afterwards.status).toBe(401)
  })

  it('keeps one audit log for both replicas: a decision on A is listed on B, and B cannot decide again', async () => {
    const [a, b] = await replicas('console_rep2')
    const secret = (await a.secrets.generate('builder')).secret
    const builder = new RelayClient({ baseUrl: a.url, secretFor: () => secret, retries: 0 })
    const request = createMessage({
      fromAgent: 'builder',
      toAgent: 'admin',
      subject: 'Deploy?',
      body: 'May I deploy?',
      payload: { type: 'approval_request', data: { question: 'Deploy to production?' } },
    })
    await builder.send(request)
    await builder.close()
    const sessionOn = async (relay: RelayHandle) => {
      const response = await fetch(`${relay.url}/api/v1/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agentId: 'admin', secret: ADMIN_SECRET }),
      })
      const { csrfToken, pageKey } = (await response.json()) as { csrfToken: string; pageKey: string }
      return { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrf: csrfToken, key: pageKey }
    }
    const decide = async (relay: RelayHandle, decision: string) => {
      const who = await sessionOn(relay)
      const response = await fetch(`${relay.url}/api/v1/console/approvals/${request.id}/decision`, {
        method: 'POST',
        headers: {
          cookie: who.cookie,
          'x-console-key': who.key,
          'x-csrf-token': who.csrf,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ decision }),
      })
      expect(response.status).toBe(200)
      return (await response.json()) as { first: boolean; response: { decision: string } }
    }
    const onB = await sessionOn(b)
    const listed = await fetch(`${b.url}/api/v1/console/approvals?limit=10`, {
      headers: { cookie: onB.cookie, 'x-console-key': onB.key },
    })
    expect(
      ((await listed.json()) as { approvals: { requestId: string }[] }).approvals.map((x) => x.requestId),
    ).toEqual([request.id])
    expect(await decide(a, 'approve')).toMatchObject({ first: true, response: { decision: 'approve' } })
    expect(await decide(b, 'deny')).toMatchObject({ first: false, response: { decision: 'approve' } })
    const audit = await fetch(`${b.url}/api/v1/console/approvals/audit`, {
      headers: { cookie: onB.cookie, 'x-console-key': onB.key },
    })
    expect(((await audit.json()) as { entries: unknown[] }).entries).toMatchObject([
      { requestId: request.id, decision: 'approve', decidedBy: 'admin', requester: 'builder' },
    ])
  })

  it("wakes a page served by B at once when a person opens a message on A (no wait for B's re-read)", async () => {
    const key = RelaySecretsKey.generate().toBase64()
    const config = relayConfig({
      dataDir: tempDir(),
      port: 0,
      databaseUrl: db.url,
      postgresSchema: 'console_rep3',
      secretsKey: key,
      rateLimitPerMinute: 0,
      adminSecret: ADMIN_SECRET,
    })
    const logger = createRelayLogger({ level: 'silent' })
    const apps: FastifyInstance[] = []
    const closers: (() => Promise<void>)[] = []
    const build = async () => {
      const storage = await openRelayStorage(config, { logger })
      const app = await createRelay({
        ...storage,
        ...(storage.console === undefined ? {} : { consoleStore: storage.console }),
        logger,
        options: {
          rateLimit: false,
          admin: { agentId: 'admin', secrets: [ADMIN_SECRET] },
          // Longer than the test may run: a change event can only come from a notification.
          console: { streamSafetyPollMs: 600_000 },
          // The test runner shares the relays' event loop: its pauses are not their load (see helpers.ts).
          overload: { maxEventLoopDelayMs: 0 },
        },
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      apps.push(app)
      closers.push(async () => {
        await app.close()
        await storage.close()
      })
      return { app, storage, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
    }
    try {
      const a = await build()
      const b = await build()
      await a.storage.registry.register({ agentId: 'lead', metadata: { kind: 'human' } })
      const leadSecret = (await a.storage.secrets.generate('lead')).secret
      await a.storage.spool.send({
        fromAgent: 'builder',
        toAgent: 'lead',
        subject: 'Task',
        body: 'review this',
      })
      const [waiting] = await a.storage.spool.pending('lead')
      const sessionOn = async (url: string, agentId: string, secret: string) => {
        const response = await fetch(`${url}/api/v1/console/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ agentId, secret }),
        })
        const { csrfToken, pageKey } = (await response.json()) as { csrfToken: string; pageKey: string }
        return { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrf: csrfToken, key: pageKey }
      }
      const operator = await sessionOn(b.url, 'admin', ADMIN_SECRET)
      const abort = new AbortController()
      const stream = await fetch(`${b.url}/api/v1/console/stream`, {
        headers: { cookie: operator.cookie, 'x-console-key': operator.key },
        signal: abort.signal,
      })
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      const readUntil = async (count: number) => {
        while (text.split('event: change').length - 1 < count) {
          const { value, done } = await reader.read()
          if (done) throw new Error('the stream ended')
          text += value
        }
      }
      await readUntil(1)
      const lead = await sessionOn(a.url, 'lead', leadSecret)
      const opened = await fetch(`${a.url}/api/v1/console/inbox/${waiting!.message.id}/open`, {
        method: 'POST',
        headers: { cookie: lead.cookie, 'x-console-key': lead.key, 'x-csrf-token': lead.csrf },
      })
      expect(opened.status).toBe(204)
      await readUntil(2)
      abort.abort()
      await reader.cancel().catch(() => undefined)
    } finally {
      for (const close of closers.reverse()) await close()
    }
  })

  it('serves the local console over a PostgreSQL URL, its sessions and audit in that database', async () => {
    const local = await startLocalConsole({ path: db.url, create: true, port: 0 })
    try {
      const token = local.loginUrl.split('#token=')[1]!
      const signIn = await fetch(`${local.url}/api/v1/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      })
      expect(signIn.status).toBe(200)
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
      const { pageKey } = (await signIn.json()) as { pageKey: string }
      const audit = await fetch(`${local.url}/api/v1/console/approvals/audit`, {
        headers: { cookie, 'x-console-key': pageKey },
      })
      expect(await audit.json()).toEqual({ entries: [] })
      const client = db.client()
      const rows = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM agent_comm.console_sessions',
      )
      expect(rows[0]?.n).toBe(1)
    } finally {
      await local.close()
    }
  })
})
