import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isAgentCommError, type Logger } from '@agent-comm/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { BridgeRunner, HttpBridge } from '../src/index.js'
import { openCoordinator } from './helpers.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** A webhook on 127.0.0.1 answering with `respond`; records the JSON bodies it received. */
async function webhook(
  respond: (
    body: { message: { body: string }; attempt: number },
    req: IncomingMessage,
  ) => {
    status: number
    body: string
    type?: string
  },
): Promise<{ url: string; received: { message: { body: string; id: string }; attempt: number }[] }> {
  const received: { message: { body: string; id: string }; attempt: number }[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => {
      text += chunk
    })
    req.on('end', () => {
      const body = req.method === 'POST' ? JSON.parse(text) : { message: { body: '' }, attempt: 0 }
      if (req.method === 'POST') received.push(body)
      const answer = respond(body, req)
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'text/plain' })
      res.end(answer.body)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent`, received }
}

describe('HttpBridge', () => {
  it('POSTs the message and sends the response body back as the reply', async () => {
    const coord = await openCoordinator()
    const hook = await webhook((body) => ({ status: 200, body: `webhook saw: ${body.message.body}` }))
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'ping' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    expect(hook.received).toMatchObject([{ message: { id: task.messageId, body: 'ping' }, attempt: 1 }])
    const [reply] = await coord.poll('architect')
    expect(reply?.message.body).toBe('webhook saw: ping')
    expect((await coord.status(task.messageId)).deliveries[0]?.status).toBe('acked')
  })

  it('sends the message trace context as traceparent and tracestate headers', async () => {
    const coord = await openCoordinator()
    const headers: (string | string[] | undefined)[] = []
    const hook = await webhook((_body, req) => {
      headers.push(req.headers.traceparent, req.headers.tracestate)
      return { status: 200, body: 'ok' }
    })
    const trace = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'v=1',
    }
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x', metadata: { trace } })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    expect(headers).toEqual([trace.traceparent, trace.tracestate])
  })

  it('takes replyText and replyPayload from a JSON answer', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({
      status: 200,
      type: 'application/json',
      body: JSON.stringify({
        replyText: 'structured',
        replyPayload: { type: 'status_response', data: { busy: false } },
      }),
    }))
    await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'status?' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    const [reply] = await coord.poll('architect')
    expect(reply?.message).toMatchObject({
      body: 'structured',
      payload: { type: 'status_response', data: { busy: false } },
    })
  })

  it('retries on 500 and dead-letters when the attempts run out', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({ status: 500, body: 'database down' }))
    const task = await coord.send(
      { fromAgent: 'architect', toAgent: 'builder', body: 'x' },
      { maxAttempts: 3 },
    )
    const runner = new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    })
    await runner.run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'queued', attempt: 1 })
    await runner.run({ once: true })
    await runner.run({ once: true })
    const delivery = (await coord.status(task.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'failed', attempt: 3 })
    expect(delivery?.lastError).toMatch(/answered 500: database down/)
    expect(hook.received).toHaveLength(3)
  })

  it('dead-letters at once on a 400: a retry cannot fix a bad request', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({ status: 400, body: 'unknown task kind' }))
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({ status: 'failed', attempt: 1 })
    expect(hook.received).toHaveLength(1)
  })

  it('treats a webhook that cannot be reached as a retryable failure', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({ status: 200, body: '' }))
    await new Promise((resolve) => servers.pop()!.close(resolve))
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    const delivery = (await coord.status(task.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'queued', attempt: 1 })
    expect(delivery?.lastError).toMatch(/unreachable/)
  })

  it('stops reading an answer longer than maxResponseBytes and dead-letters the message at once', async () => {
    const coord = await openCoordinator()
    const cap = 64 * 1024
    const endless = 200 * 1024 * 1024
    // The webhook streams 200 MiB (no content-length), honouring back-pressure, until the bridge hangs up.
    let posts = 0
    let written = 0
    let finished = false
    const hungUp = new Promise<void>((resolve) => {
      const server = createServer((req, res) => {
        req.resume()
        req.on('end', () => {
          posts++
          res.writeHead(200, { 'content-type': 'text/plain' })
          const chunk = Buffer.alloc(16 * 1024, 'x')
          const pump = (): void => {
            while (written < endless && !res.destroyed) {
              written += chunk.length
              if (!res.write(chunk)) return void res.once('drain', pump)
            }
            if (!res.destroyed) {
              finished = true
              res.end()
            }
          }
          res.on('close', resolve)
          pump()
        })
      })
      servers.push(server)
      server.listen(0, '127.0.0.1')
    })
    const server = servers.at(-1)!
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve)))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent`
    // Counts the bytes the bridge pulls out of the response body.
    let read = 0
    const countingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          read += chunk.byteLength
          controller.enqueue(chunk)
        },
      })
      return new Response(response.body!.pipeThrough(counter), {
        status: response.status,
        headers: response.headers,
      })
    }
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const summary = await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url, maxResponseBytes: cap, fetch: countingFetch }),
    }).run({ once: true })
    await hungUp
    expect(summary).toEqual({ processed: 1, succeeded: 0, failed: 1 })
    expect(finished).toBe(false)
    // Bounded by the cap plus what streams buffer in flight, far below what the webhook would send.
    expect(read).toBeGreaterThan(cap)
    expect(read).toBeLessThan(cap + 1024 * 1024)
    const delivery = (await coord.status(task.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'failed', attempt: 1 })
    expect(delivery?.lastError).toMatch(/answered more than 65536 bytes/)
    expect(posts).toBe(1)
  })

  it('refuses an answer whose content-length is over maxResponseBytes without reading it', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({ status: 200, body: 'y'.repeat(2048) }))
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url, maxResponseBytes: 1024 }),
    }).run({ once: true })
    const delivery = (await coord.status(task.messageId)).deliveries[0]
    expect(delivery).toMatchObject({ status: 'failed', attempt: 1 })
    expect(delivery?.lastError).toMatch(/answered more than 1024 bytes/)
  })

  it('keeps only whole UTF-8 characters of an error body cut at maxResponseBytes', async () => {
    // 'é' is 2 bytes: a cap of 5 bytes falls inside the third one. No content-length: it is streamed.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('éééééé'))
        controller.close()
      },
    })
    const bridge = new HttpBridge({
      url: 'http://127.0.0.1:9/agent',
      maxResponseBytes: 5,
      fetch: async () => new Response(body, { status: 500 }),
    })
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const { message } = await coord.status(task.messageId)
    const result = await bridge.forward(message, {
      signal: new AbortController().signal,
      logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
      attempt: 1,
    })
    expect(result).toMatchObject({ success: false })
    expect((result as { error: string }).error).toMatch(/answered 500: éé$/)
  })

  it('reports availability from the health URL', async () => {
    const up = await webhook(() => ({ status: 200, body: 'ok' }))
    expect(await new HttpBridge({ url: up.url }).isAvailable()).toBe(true)
    const sick = await webhook(() => ({ status: 503, body: 'no' }))
    expect(await new HttpBridge({ url: up.url, healthUrl: sick.url }).isAvailable()).toBe(false)
    await new Promise((resolve) => servers.pop()!.close(resolve))
    expect(await new HttpBridge({ url: sick.url }).isAvailable()).toBe(false)
  })

  it('gives up on a health URL that does not answer within healthTimeoutMs, saying so', async () => {
    const silent = createServer(() => {}) // takes the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    servers.push(silent)
    const base = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    expect(await new HttpBridge({ url: `${base}/hook`, healthTimeoutMs: 100 }).checkAvailability()).toEqual({
      available: false,
      reason: `webhook ${base}/... did not answer within 0.1 s`,
    })
  })

  for (const [options, option] of [
    [{ url: 'not a url' }, 'url'],
    [{ url: 'ftp://example.com/hook' }, 'url'],
    [{ url: 'http://127.0.0.1/hook', healthUrl: '::' }, 'healthUrl'],
    [{ url: 'http://127.0.0.1/hook', maxResponseBytes: 0 }, 'maxResponseBytes'],
    [{ url: 'http://127.0.0.1/hook', healthTimeoutMs: 0 }, 'healthTimeoutMs'],
  ] as const) {
    it(`refuses an invalid ${option} when it is created with a VALIDATION error naming the option (${JSON.stringify(options)})`, () => {
      let refused: unknown
      try {
        new HttpBridge(options)
      } catch (error) {
        refused = error
      }
      expect(isAgentCommError(refused, 'VALIDATION')).toBe(true)
      expect(refused).toMatchObject({
        message: expect.stringContaining(`HttpBridge ${option}`),
        issues: [{ path: option, message: expect.any(String) }],
        hint: expect.any(String),
      })
    })
  }

  it('refuses a webhook URL with credentials when it is created, pointing to the headers option', async () => {
    const hook = await webhook(() => ({ status: 200, body: 'ok' }))
    const withCredentials = hook.url.replace('http://', 'http://user:s3cretpw@')
    for (const options of [{ url: withCredentials }, { url: hook.url, healthUrl: withCredentials }]) {
      let refused: unknown
      try {
        new HttpBridge(options)
      } catch (error) {
        refused = error
      }
      expect(isAgentCommError(refused, 'CONFIG')).toBe(true)
      const { message, hint } = refused as { message: string; hint: string }
      expect(message).toMatch(/must not contain credentials/)
      expect(message).not.toContain('s3cretpw')
      expect(hint).toMatch(/`headers` option.*authorization/)
    }
  })

  it('keeps credentials and query strings of URLs out of the failure reason', async () => {
    const coord = await openCoordinator()
    const hook = await webhook(() => ({
      status: 502,
      body: 'upstream https://svc:hunter2@10.0.0.7/run?token=abc123 failed',
    }))
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: `${hook.url}?key=k3y` }),
    }).run({ once: true })
    const { lastError } = (await coord.status(task.messageId)).deliveries[0]!
    expect(lastError).toMatch(/answered 502: upstream https:\/\/10\.0\.0\.7\/run failed/)
    expect(lastError).not.toMatch(/hunter2|abc123|k3y/)
  })

  for (const [answer, field] of [
    [{ replyText: 42 }, /replyText must be a string.*got 42/],
    [{ replyText: 'ok', replyPayload: { type: 'no_such_type', data: 1 } }, /replyPayload must be a valid/],
    [{ replyPayload: 'not an object' }, /replyPayload must be a valid/],
  ] as const) {
    it(`dead-letters a 2xx answer ${JSON.stringify(answer)} with a warning naming the malformed field`, async () => {
      const coord = await openCoordinator()
      const hook = await webhook(() => ({
        status: 200,
        type: 'application/json',
        body: JSON.stringify(answer),
      }))
      const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
      const warnings: string[] = []
      const noop = () => {}
      const logger: Logger = { debug: noop, info: noop, error: noop, warn: (_f, m) => warnings.push(m) }
      await new BridgeRunner({
        coordinator: coord,
        agent: 'builder',
        bridge: new HttpBridge({ url: hook.url }),
        logger,
      }).run({ once: true })
      const delivery = (await coord.status(task.messageId)).deliveries[0]
      expect(delivery).toMatchObject({ status: 'failed', attempt: 1 })
      expect(delivery?.lastError).toMatch(field)
      expect(warnings).toEqual([expect.stringMatching(/malformed/)])
      expect(await coord.poll('architect')).toEqual([])
    })
  }

  it('takes a JSON answer with only replyPayload, a plain-text answer and an empty body as documented', async () => {
    const coord = await openCoordinator()
    const answers = [
      {
        type: 'application/json',
        body: JSON.stringify({ replyPayload: { type: 'status_response', data: 1 } }),
      },
      { type: 'text/plain', body: 'plain' },
      { type: 'application/json', body: '' },
    ]
    const hook = await webhook(() => ({ status: 200, ...answers.shift()! }))
    for (let i = 0; i < 3; i++) await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const summary = await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new HttpBridge({ url: hook.url }),
    }).run({ once: true })
    expect(summary).toMatchObject({ processed: 3, succeeded: 3, failed: 0 })
    const replies = (await coord.poll('architect')).map((r) => ({
      body: r.message.body,
      payload: r.message.payload,
    }))
    expect(replies).toEqual([
      { body: '', payload: { type: 'status_response', data: 1 } },
      { body: 'plain', payload: undefined },
    ])
  })
})
