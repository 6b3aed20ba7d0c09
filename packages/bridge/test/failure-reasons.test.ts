import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type BridgeEvent,
  BridgeRunner,
  CommandBridge,
  FunctionBridge,
  failureReason,
  HttpBridge,
  MAX_FAILURE_REASON_LENGTH,
} from '../src/index.js'
import { openCoordinator } from './helpers.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

/** An HTTP server on 127.0.0.1 answering every request with `status` and `headers`; counts what it got. */
async function server(
  status: number,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ url: string; port: number; hits: string[] }> {
  const hits: string[] = []
  const s = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`)
      res.writeHead(status, { 'content-type': 'text/plain', ...headers })
      res.end(body)
    })
  })
  servers.push(s)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/hook`, port, hits }
}

/** A command bridge running `node -e script`. */
const node = (script: string) =>
  new CommandBridge({ command: process.execPath, args: ['-e', script], env: { PATH: process.env.PATH } })

describe('a webhook token in the URL', () => {
  it("never shows the webhook's path or query to the sender, not even quoted by the webhook's 404 page", async () => {
    const coord = await openCoordinator()
    const hook = await server(404, {}, 'Cannot POST /hook/T0/B0/p4th-t0ken')
    const url = `${hook.url}/T0/B0/p4th-t0ken?token=q-t0ken`
    const bridge = new HttpBridge({ url })
    expect(bridge.name).toBe(`webhook http://127.0.0.1:${hook.port}/...`)
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge }).run({ once: true })
    expect(hook.hits).toEqual(['POST /hook/T0/B0/p4th-t0ken?token=q-t0ken'])
    const lastError = (await coord.status(task.messageId)).deliveries[0]?.lastError
    expect(lastError).toBe(`webhook http://127.0.0.1:${hook.port}/... answered 404: Cannot POST /...`)
  })
})

describe('webhook redirects', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it(`does not follow a ${status}: the target gets nothing, no reply is sent, the message is dead-lettered`, async () => {
      const coord = await openCoordinator()
      const internal = await server(200, {}, 'AWS_SECRET=abc123')
      const hook = await server(status, {
        location: `http://admin:pw@127.0.0.1:${internal.port}/internal-secret?token=t0k`,
      })
      const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
      const summary = await new BridgeRunner({
        coordinator: coord,
        agent: 'builder',
        bridge: new HttpBridge({ url: hook.url }),
      }).run({ once: true })
      expect(summary).toEqual({ processed: 1, succeeded: 0, failed: 1 })
      expect(hook.hits).toEqual(['POST /hook'])
      expect(internal.hits).toEqual([])
      expect(await coord.poll('architect')).toEqual([])
      const delivery = (await coord.status(task.messageId)).deliveries[0]!
      expect(delivery.status).toBe('failed')
      expect(delivery.lastError).toContain(
        `answered ${status} (a redirect to Location host 127.0.0.1:${internal.port}); webhook redirects are not followed`,
      )
      expect(delivery.lastError).not.toMatch(/admin|pw@|t0k|internal-secret/)
    })
  }

  it('reports a webhook whose health URL redirects as unavailable', async () => {
    const internal = await server(200)
    const hook = await server(302, { location: `http://127.0.0.1:${internal.port}/` })
    expect(await new HttpBridge({ url: hook.url }).isAvailable()).toBe(false)
    expect(internal.hits).toEqual([])
  })
})

describe('failure reasons', () => {
  it('keeps the tail of a huge stderr, says it was cut, and nacks the message (not left leased)', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const events: BridgeEvent[] = []
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: node("process.stderr.write('e'.repeat(200000) + ' THE END'); process.exitCode = 1"),
      onEvent: (event) => events.push(event),
    }).run({ once: true })
    const delivery = (await coord.status(task.messageId)).deliveries[0]!
    expect(delivery.status).toBe('queued')
    expect(delivery.lastError!.length).toBeLessThanOrEqual(MAX_FAILURE_REASON_LENGTH)
    expect(delivery.lastError).toMatch(/^\[first \d+ characters cut\] …e+ THE END$/)
    expect(events.filter((e) => e.type === 'error')).toEqual([])
    const nacked = events.find((e) => e.type === 'nacked')
    expect(nacked).toMatchObject({ reason: delivery.lastError })
  })

  it('nacks a reason holding NUL and a surrogate pair cut in half', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    // 😀 is two UTF-16 units; with `x\0y` (4 characters once NUL is shown as `\0`) and 27 more in front,
    // the cut at the length limit falls between them.
    const tail = 'a'.repeat(MAX_FAILURE_REASON_LENGTH - 30)
    const reason = `x\u0000y${'z'.repeat(27)}😀${tail}`
    expect(failureReason(reason)).toBe(failureReason(failureReason(reason)))
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge(() => {
        throw new Error(reason)
      }),
    }).run({ once: true })
    const delivery = (await coord.status(task.messageId)).deliveries[0]!
    expect(delivery.status).toBe('queued')
    // Compared as a boolean: a failure would otherwise print 8 KiB of 'a'.
    expect(delivery.lastError === `[first 33 characters cut] …${tail}`).toBe(true)
  })

  it('shows NUL in a reason as \\0', async () => {
    const coord = await openCoordinator()
    const task = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: node("process.stderr.write('bad\\u0000byte'); process.exitCode = 1"),
    }).run({ once: true })
    expect((await coord.status(task.messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      lastError: 'bad\\0byte',
    })
  })

  it("removes credentials, query and fragment from URLs in a command's and any bridge's failure reason", async () => {
    const coord = await openCoordinator()
    const viaCommand = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const bridged = node(
      "process.stderr.write('GET https://svc:hunter2@10.0.0.7/run?token=abc123#frag failed'); process.exitCode = 1",
    )
    expect(
      await bridged.forward((await coord.status(viaCommand.messageId)).message, {
        signal: new AbortController().signal,
        logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
        attempt: 1,
      }),
    ).toMatchObject({ success: false, error: 'GET https://10.0.0.7/run failed' })
    await new BridgeRunner({ coordinator: coord, agent: 'builder', bridge: bridged }).run({ once: true })
    expect((await coord.status(viaCommand.messageId)).deliveries[0]?.lastError).toBe(
      'GET https://10.0.0.7/run failed',
    )
    const viaFunction = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'y' })
    await new BridgeRunner({
      coordinator: coord,
      agent: 'builder',
      bridge: new FunctionBridge(() => {
        throw new Error('postgres://app:s3cret@db.internal:5432/x refused')
      }),
    }).run({ once: true })
    expect((await coord.status(viaFunction.messageId)).deliveries[0]?.lastError).toBe(
      'postgres://db.internal:5432/x refused',
    )
  })
})
