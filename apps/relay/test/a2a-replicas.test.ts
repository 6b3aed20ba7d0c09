import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TaskState } from '@a2a-js/sdk'
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import { A2ATokens } from '@agent-comm/a2a'
import { openPostgres, RelaySecretsKey } from '@agent-comm/postgres'
import { PostgresA2AStore } from '@agent-comm/postgres/a2a'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { userMessage } from '@agent-comm/test-support/a2a-agent'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import type { RelayHandle } from '../src/index.js'
import { onCleanup, startPostgresReplica, submit } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'relay_a2a' })
afterAll(async () => {
  await db.drop()
})

const key = RelaySecretsKey.generate().toBase64()

function replica(schema: string, a2aPushAllow?: string[]): Promise<RelayHandle> {
  return startPostgresReplica({
    url: db.url,
    schema,
    secretsKey: key,
    ...(a2aPushAllow === undefined ? {} : { config: { a2aPushAllow } }),
  })
}

function client(url: string, token: string) {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
  return new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] }).createFromUrl(
    `${url}/a2a/helper/`,
  )
}

/** The agent's side (`helper`, opted in) and the operator's token for caller `acme`, on the same database. */
async function helperAndToken(schema: string) {
  const database = await openPostgres({ url: db.url, schema })
  onCleanup(() => database.close())
  await database.registry.register({ agentId: 'helper', metadata: { a2a: { skills: [{ id: 'answer' }] } } })
  const store = await PostgresA2AStore.connect({ url: db.url, schema })
  onCleanup(() => store.close())
  const { token } = await new A2ATokens(store).create('acme')
  return { database, store, token }
}

describe.skipIf(db.kind !== 'server')('A2A on relay replicas on PostgreSQL', () => {
  it('makes one task of a message sent again and again at once through both replicas', async () => {
    const schema = 'relay_a2a_retries'
    const [a, b] = [await replica(schema), await replica(schema)]
    const { database, token } = await helperAndToken(schema)
    const [viaA, viaB] = [await client(a.url, token), await client(b.url, token)]
    const message = userMessage('once on postgres')
    const sent = await Promise.all([viaA, viaB, viaA, viaB, viaA, viaB].map((c) => submit(c, message)))
    expect(new Set(sent.map((task) => (task as { id: string }).id)).size).toBe(1)
    const claimed = await database.spool.claim('helper', { limit: 10 })
    expect(claimed.map((c) => c.message.body)).toEqual(['once on postgres'])
  })

  it('answers GetTask and SubscribeToTask for a task sent through the other replica', async () => {
    const schema = 'relay_a2a_1'
    const [a, b] = [await replica(schema), await replica(schema)]
    const { database, token } = await helperAndToken(schema)

    const viaA = await client(a.url, token)
    const viaB = await client(b.url, token)
    const sent = (await submit(viaA, userMessage('hello replicas'))) as { id: string }
    expect((await viaB.getTask({ tenant: '', id: sent.id })).status?.state).toBe(
      TaskState.TASK_STATE_SUBMITTED,
    )

    const answer = (async () => {
      for (;;) {
        const [claimed] = await database.spool.claim('helper', { limit: 1 })
        if (claimed === undefined) {
          await database.spool.waitForMessages('helper', { timeoutMs: 200 })
          continue
        }
        await database.spool.send({
          fromAgent: 'helper',
          toAgent: claimed.message.fromAgent,
          body: 'hello from one database',
          routing: { replyTo: claimed.message.id, conversationId: claimed.message.routing.conversationId },
        })
        await database.spool.ack(claimed.message.id, 'helper', { receipt: claimed.lease.receipt })
        return
      }
    })()
    const states: number[] = []
    for await (const event of viaB.resubscribeTask({ tenant: '', id: sent.id })) {
      if (event.payload?.$case === 'statusUpdate') states.push(event.payload.value.status?.state ?? 0)
    }
    await answer
    expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED)
    const [fromA, fromB] = [
      await viaA.getTask({ tenant: '', id: sent.id }),
      await viaB.getTask({ tenant: '', id: sent.id }),
    ]
    expect(fromA.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(fromB.artifacts).toEqual(fromA.artifacts)
    expect(fromB.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'hello from one database' })
  })

  it('completes a task only with its agent reply, and answers caller mistakes with JSON-RPC errors', async () => {
    const schema = 'relay_a2a_mistakes'
    const relay = await replica(schema)
    const { database, token } = await helperAndToken(schema)
    await database.registry.register({ agentId: 'alice' })
    const rpc = async (body: string) =>
      (await (
        await fetch(`${relay.url}/a2a/helper`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'a2a-version': '1.0',
            authorization: `Bearer ${token}`,
          },
          body,
        })
      ).json()) as { error?: { code: number; message: string } }
    expect(
      (await rpc('{"jsonrpc":"2.0","id":1,"method":"SubscribeToTask","params":{"id":"nope"}}')).error?.code,
    ).toBe(-32001)
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`
    const refused = await rpc(
      `{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}],"metadata":${deep}}}}`,
    )
    expect(refused.error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/^params\.message\.metadata is nested/),
    })

    const viaRelay = await client(relay.url, token)
    const sent = (await submit(viaRelay, userMessage('for helper only'))) as { id: string }
    const [claimed] = await database.spool.claim('helper', { limit: 1 })
    const assignment = claimed!.message
    const forged = await database.spool.send({
      fromAgent: 'alice',
      toAgent: assignment.fromAgent,
      body: 'forged answer',
      routing: { replyTo: assignment.id },
    })
    await expect
      .poll(async () => (await database.spool.status(forged.messageId)).deliveries[0]?.status)
      .toBe('acked')
    const untouched = await viaRelay.getTask({ tenant: '', id: sent.id })
    expect(untouched.status?.state).toBe(TaskState.TASK_STATE_WORKING)
    expect(JSON.stringify(untouched)).not.toContain('forged answer')
    await database.spool.send({
      fromAgent: 'helper',
      toAgent: assignment.fromAgent,
      body: 'the real answer',
      routing: { replyTo: assignment.id },
    })
    await expect
      .poll(async () => (await viaRelay.getTask({ tenant: '', id: sent.id })).status?.state)
      .toBe(TaskState.TASK_STATE_COMPLETED)
    const task = await viaRelay.getTask({ tenant: '', id: sent.id })
    expect(task.artifacts.map((a) => a.parts[0]?.content)).toEqual([
      { $case: 'text', value: 'the real answer' },
    ])
  })

  it("signs pushes with one key shared by every replica, verified against either replica's JWKS", async () => {
    const schema = 'relay_a2a_keys'
    // Started together on a fresh schema: both would generate the first key, one wins.
    const [a, b] = await Promise.all([replica(schema, ['127.0.0.1']), replica(schema, ['127.0.0.1'])])
    const jwks = async (relay: RelayHandle) =>
      (await (await fetch(`${relay.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
    const keysA = await jwks(a)
    expect(keysA.keys).toHaveLength(1)
    expect(await jwks(b)).toEqual(keysA)

    const { token } = await helperAndToken(schema)
    const received: { jwt: string; body: string }[] = []
    const webhook = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        received.push({ jwt: String(request.headers['x-a2a-notification-signature']), body })
        response.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => webhook.close(() => resolve())))
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
    const viaA = await client(a.url, token)
    await viaA.sendMessage({
      tenant: '',
      message: userMessage('push me'),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: {
          tenant: '',
          id: '',
          taskId: '',
          url: hook,
          token: 't',
          authentication: undefined,
        },
        returnImmediately: true,
      },
      metadata: undefined,
    })
    await expect.poll(() => received.length, { timeout: 30_000 }).toBeGreaterThan(0)
    // Whichever replica delivered it, the other's JWKS verifies it.
    for (const relay of [a, b]) {
      const keys = createRemoteJWKSet(new URL(`${relay.url}/.well-known/jwks.json`))
      await expect(jwtVerify(received[0]!.jwt, keys, { audience: hook })).resolves.toBeDefined()
    }
    expect(decodeProtectedHeader(received[0]!.jwt).kid).toBe(keysA.keys[0]!.kid)
    // A replica started later (a restart) signs with the same key.
    const c = await replica(schema, ['127.0.0.1'])
    expect(await jwks(c)).toEqual(keysA)
  })
})
