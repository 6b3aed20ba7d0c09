import type { ChildProcess } from 'node:child_process'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { onCleanup, tempDir } from './helpers.js'
import { listening, spawnRelay } from './relay-bin.js'

/** Starts the relay bin on `dataDir` and resolves with it and its URL once it listens. */
async function startRelayProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnRelay(
    ['--port', '0', '--data-dir', dataDir, '--rate-limit', '0', '--log-level', 'info'],
    { PATH: process.env.PATH ?? '' },
  )
  return { child, url: await listening(child) }
}

const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode ?? child.exitCode)
    else child.once('exit', (code, signal) => resolve(signal ?? code))
  })

/**
 * The address clients use: a proxy that forwards each request to the relay process of the moment. On the
 * first send it waits for the relay's answer — proof that the relay committed — and instead of passing it
 * on, SIGKILLs the relay and then drops the client's connection: the relay really died after its commit
 * and before its response reached the client.
 */
async function killingProxy(relay: { child: ChildProcess; url: string }) {
  const state = { relay, killed: 0 }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const upstream = httpRequest(
        `${state.relay.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (up) => {
          const body: Buffer[] = []
          up.on('data', (c: Buffer) => body.push(c))
          up.on('end', () => {
            if (req.method === 'POST' && req.url === '/api/v1/messages' && state.killed === 0) {
              state.killed++
              const { child } = state.relay
              child.kill('SIGKILL')
              void exited(child).then(() => req.socket.destroy())
              return
            }
            res.writeHead(up.statusCode ?? 502, up.headers)
            res.end(Buffer.concat(body))
          })
        },
      )
      upstream.on('error', () => req.socket.destroy())
      upstream.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state }
}

describe('idempotent retry through a relay process killed after its commit', () => {
  it('delivers the message once and answers the retry to the restarted relay with duplicate: true', async () => {
    const dataDir = join(tempDir(), 'relay')
    const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir) })
    const secrets: Record<string, string> = {
      architect: (await store.generate('architect')).secret,
      builder: (await store.generate('builder')).secret,
    }
    const firstRelay = await startRelayProcess(dataDir)
    const proxy = await killingProxy(firstRelay)
    const client = new RelayClient({
      baseUrl: proxy.url,
      secretFor: (id) => secrets[id],
      retries: 0,
      coalesce: false,
    })
    onCleanup(() => client.close())
    const compose = () => createMessage({ fromAgent: 'architect', toAgent: 'builder', body: 'pay invoice 7' })

    const first = compose()
    await expect(client.send(first, { idempotencyKey: 'invoice-7' })).rejects.toThrow()
    expect(proxy.state.killed).toBe(1)
    expect(await exited(firstRelay.child)).toBe('SIGKILL')

    // The relay comes back on the same data folder; the sender retries as a fresh process would, composing
    // the message again (a new id) with the same key.
    proxy.state.relay = await startRelayProcess(dataDir)
    const retry = await client.send(compose(), { idempotencyKey: 'invoice-7' })
    expect(retry).toMatchObject({ messageId: first.id, duplicate: true, deliveries: 0 })

    const reader = new RelayClient({ baseUrl: proxy.state.relay.url, secretFor: (id) => secrets[id] })
    onCleanup(() => reader.close())
    const claimed = await reader.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.id)).toEqual([first.id])
    await reader.ack(first.id, 'builder', { receipt: claimed[0]!.lease.receipt })
    expect(await reader.claim('builder', { limit: 10 })).toEqual([])
    expect((await reader.status(first.id, { as: 'architect' })).deliveries).toHaveLength(1)
  })
})
