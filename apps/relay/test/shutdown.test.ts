import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { RelayClient } from '@agent-comm/transport-http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RELAY_DB_FILE, relayConfig, startRelay } from '../src/index.js'
import { createRelayLogger } from '../src/logger.js'
import { tempDir } from './helpers.js'

afterEach(() => {
  vi.restoreAllMocks()
})

/** Holds every `Spool.send` until `release()`; `started` resolves when the first one is held. */
function holdSends() {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let started!: () => void
  const held = new Promise<void>((resolve) => {
    started = resolve
  })
  const send = Spool.prototype.send
  vi.spyOn(Spool.prototype, 'send').mockImplementation(async function (this: Spool, ...args) {
    started()
    await gate
    return send.apply(this, args)
  })
  return { held, release }
}

describe('graceful shutdown', () => {
  it('finishes a request in flight, refuses new ones, then closes the database', async () => {
    const dir = tempDir()
    const { held, release } = holdSends()
    const relay = await startRelay(relayConfig({ dataDir: dir, port: 0, rateLimitPerMinute: 0 }), {
      logger: createRelayLogger({ level: 'silent' }),
    })
    const secret = (await relay.secrets.generate('architect')).secret
    const client = new RelayClient({ baseUrl: relay.url, secretFor: () => secret, retries: 0 })
    const message = createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'go' })

    const inFlight = client.send(message)
    await held
    let closed = false
    const closing = relay.close().then(() => {
      closed = true
    })
    // The server stops accepting new requests (looked at until it has, rather than after a sleep a busy
    // machine may outlast); the request it is working on goes on.
    const late = new RelayClient({ baseUrl: relay.url, secretFor: () => secret, retries: 0 })
    await expect
      .poll(() =>
        late.health().then(
          () => 'accepted',
          (error: { relayCode?: string }) => error.relayCode,
        ),
      )
      .toBe('UNAVAILABLE')
    await late.close()
    expect(closed).toBe(false)

    release()
    expect(await inFlight).toMatchObject({ messageId: message.id, duplicate: false })
    await closing
    await client.close()

    // Closed cleanly: SQLite folded its write-ahead log back into the file when the last connection went.
    expect(existsSync(join(dir, `${RELAY_DB_FILE}-wal`))).toBe(false)
    vi.restoreAllMocks()
    const reopened = await Spool.open({ path: join(dir, RELAY_DB_FILE) })
    expect((await reopened.status(message.id)).deliveries.map((d) => d.status)).toEqual(['queued'])
    await reopened.close()
  })

  it('cuts, after its grace period, a client that never finishes sending its request', async () => {
    const relay = await startRelay(relayConfig({ dataDir: tempDir(), port: 0 }), {
      logger: createRelayLogger({ level: 'silent' }),
      shutdownGraceMs: 200,
    })
    // Headers begun and never ended: Node's own header timeout is a minute away.
    const socket = connect(relay.address.port, '127.0.0.1')
    let answered = ''
    socket.on('data', (chunk) => {
      answered += String(chunk)
    })
    const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.write('GET /api/v1/health HTTP/1.1\r\nHost: relay\r\nX-Slow: ')
    await relay.close()
    await cut
    // Cut by the relay's grace period, not answered by Node's header timeout (408) a minute later.
    expect(answered).toBe('')
  })
})
