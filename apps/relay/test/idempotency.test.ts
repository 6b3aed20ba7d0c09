import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMessage } from '@agent-comm/protocol'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { errorOf, onCleanup, startTestRelay } from './helpers.js'

/**
 * A proxy in front of the relay that forwards each request and, for the first send, lets the relay commit
 * and answer, then drops the connection before the answer reaches the client: to the client, exactly a
 * relay killed after its commit and before its response.
 */
async function losingFirstSendResponse(target: string): Promise<{ url: string; lost: () => number }> {
  let lost = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const upstream = httpRequest(
        `${target}${req.url}`,
        { method: req.method, headers: req.headers },
        (up) => {
          const body: Buffer[] = []
          up.on('data', (c: Buffer) => body.push(c))
          up.on('end', () => {
            if (req.method === 'POST' && req.url === '/api/v1/messages' && lost === 0) {
              lost++
              req.socket.destroy()
              return
            }
            res.writeHead(up.statusCode ?? 502, up.headers)
            res.end(Buffer.concat(body))
          })
        },
      )
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lost: () => lost }
}

describe('idempotency keys through the relay', () => {
  it('answers a send with a key already used by the sender with the first message id, delivering nothing', async () => {
    const relay = await startTestRelay()
    const transport = relay.transport('architect')
    const first = await transport.send(
      createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'x' }),
      {
        idempotencyKey: 'deploy-42',
      },
    )
    const retry = await transport.send(
      createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'x' }),
      {
        idempotencyKey: 'deploy-42',
      },
    )
    expect(retry).toMatchObject({ messageId: first.messageId, duplicate: true, deliveries: 0 })
    expect(retry.message.id).toBe(first.messageId)
    expect(await relay.transport('builder').claim('builder', { limit: 10 })).toHaveLength(1)
  })

  it('refuses a key already used for other content with 409 CONFLICT naming the key, keeping the first message', async () => {
    const relay = await startTestRelay()
    const transport = relay.transport('architect')
    const first = await transport.send(
      createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'May I deploy v2?' }),
      { idempotencyKey: 'ask-1' },
    )
    await expect(
      transport.send(
        createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'May I drop the DB?' }),
        {
          idempotencyKey: 'ask-1',
        },
      ),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { idempotencyKey: 'ask-1', originalId: first.messageId },
    })
    const inbox = await relay.transport('builder').claim('builder', { limit: 10 })
    expect(inbox.map((c) => c.message.body)).toEqual(['May I deploy v2?'])
  })

  it('refuses an invalid key with 400 VALIDATION, and another sender’s id with 409 CONFLICT', async () => {
    const relay = await startTestRelay({ listen: false })
    const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const bad = await relay.signed('architect', 'POST', '/api/v1/messages', {
      message,
      idempotencyKey: 'a b',
    })
    expect(bad.statusCode).toBe(400)
    expect(errorOf(bad).code).toBe('VALIDATION')
    await relay.spool.send(message)
    const taken = await relay.signed('reviewer', 'POST', '/api/v1/messages', {
      message: { ...message, fromAgent: 'reviewer' },
      idempotencyKey: 'k',
    })
    expect(taken.statusCode).toBe(409)
    expect(errorOf(taken).code).toBe('CONFLICT')
  })

  it('keeps keys in a batch request', async () => {
    const relay = await startTestRelay({ listen: false })
    const item = () => ({
      message: createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'x' }),
      idempotencyKey: 'same',
    })
    const res = await relay.signed('architect', 'POST', '/api/v1/messages/batch', { items: [item(), item()] })
    expect(res.statusCode).toBe(200)
    const { results } = res.json() as { results: { messageId: string; duplicate: boolean }[] }
    expect(results.map((r) => r.duplicate)).toEqual([false, true])
    expect(results[1]!.messageId).toBe(results[0]!.messageId)
  })

  it('makes a retry after a relay lost its response once committed a duplicate, even with a new message id', async () => {
    const relay = await startTestRelay()
    const proxy = await losingFirstSendResponse(relay.url)
    const client = new RelayClient({
      baseUrl: proxy.url,
      secretFor: (id) => relay.secrets[id],
      clock: relay.clock,
      retries: 0,
      coalesce: false,
    })
    onCleanup(() => client.close())
    const compose = () => createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'pay invoice 7' })
    const first = compose()
    // The relay commits, then its answer is lost: the sender cannot tell whether the send happened.
    await expect(client.send(first, { idempotencyKey: 'invoice-7' })).rejects.toThrow()
    expect(proxy.lost()).toBe(1)
    // The sender retries as a fresh process would: the message is composed again, with a new id.
    const retry = await client.send(compose(), { idempotencyKey: 'invoice-7' })
    expect(retry).toMatchObject({ messageId: first.id, duplicate: true, deliveries: 0 })
    const claimed = await relay.transport('builder').claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([first.id])
  })
})
