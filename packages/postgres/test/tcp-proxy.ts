import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy to the local PostgreSQL that a test can cut: `down()` drops every open connection and
 * refuses new ones (accepting and closing them at once, counting the attempts), `up()` forwards again.
 * `cutAnswerTo(marker)` drops, once, the connection that sends `marker` as soon as the server answers it,
 * without passing the answer on: the statement ran (and, outside a transaction, committed), but the client
 * only sees its connection lost.
 * `blackHole()` is a network partition: every open connection stays open but nothing passes any more, in
 * either direction, and new connections are accepted and then never answered (the proxy's kernel still
 * acknowledges every byte, as a hung server's does, so TCP keepalive cannot tell); `up()` forwards new
 * connections again, while the black-holed ones stay silent until they are closed.
 */
export async function tcpProxy(target = { host: '127.0.0.1', port: 5432 }) {
  const open = new Set<Socket>()
  let isDown = false
  let blackHoled = false
  /** Connections that will never hear anything again. */
  const silenced = new Set<Socket>()
  /** The client side of each connection being forwarded. */
  const forwarded = new Set<Socket>()
  let refused = 0
  let cutMarker: string | undefined
  let cuts = 0
  const waiters: (() => void)[] = []
  let accepted = 0
  const acceptWaiters: (() => void)[] = []
  const server: Server = createServer((client) => {
    accepted++
    for (const w of acceptWaiters.splice(0)) w()
    if (isDown) {
      refused++
      for (const w of waiters.splice(0)) w()
      client.destroy()
      return
    }
    if (blackHoled) {
      silenced.add(client)
      client.on('error', () => client.destroy())
      client.on('close', () => silenced.delete(client))
      return
    }
    const upstream = connect(target)
    open.add(client).add(upstream)
    forwarded.add(client)
    const close = () => {
      forwarded.delete(client)
      silenced.delete(client)
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    let cutting = false
    client.on('data', (chunk: Buffer) => {
      if (silenced.has(client)) return
      if (cutMarker !== undefined && chunk.includes(cutMarker)) {
        cutMarker = undefined
        cutting = true
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (silenced.has(client)) return
      if (!cutting) {
        client.write(chunk)
        return
      }
      cuts++
      close()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    port: address.port,
    down() {
      isDown = true
      refused = 0
      for (const socket of open) socket.destroy()
      open.clear()
    },
    up() {
      isDown = false
      blackHoled = false
    },
    /** A network partition (see above). */
    blackHole() {
      blackHoled = true
      for (const client of forwarded) silenced.add(client)
    },
    /** How many connections the partition holds silent (they close as their clients give up on them). */
    get silenced() {
      return silenced.size
    },
    /** Drops the next connection that sends `marker` when the server answers it (see above). */
    cutAnswerTo(marker: string) {
      cutMarker = marker
    },
    /** How many answers {@link cutAnswerTo} kept from their clients. */
    get cuts() {
      return cuts
    },
    /** Resolves once `count` connection attempts were refused since the proxy last went down. */
    async refusedAtLeast(count: number) {
      while (refused < count) await new Promise<void>((resolve) => waiters.push(resolve))
    },
    /** How many connections the proxy has accepted in all (refused ones included). */
    get accepted() {
      return accepted
    },
    /** Resolves once the proxy has accepted `count` connections in all (refused ones included). */
    async acceptedAtLeast(count: number) {
      while (accepted < count) await new Promise<void>((resolve) => acceptWaiters.push(resolve))
    },
    async close() {
      for (const socket of [...open, ...silenced]) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
