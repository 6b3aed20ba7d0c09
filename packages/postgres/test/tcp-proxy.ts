import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy to the local PostgreSQL that a test can cut: `down()` drops every open connection and
 * refuses new ones (accepting and closing them at once, counting the attempts), `up()` forwards again.
 * `cutAnswerTo(marker)` drops, once, the connection that sends `marker` as soon as the server answers it,
 * without passing the answer on: the statement ran (and, outside a transaction, committed), but the client
 * only sees its connection lost.
 */
export async function tcpProxy(target = { host: '127.0.0.1', port: 5432 }) {
  const open = new Set<Socket>()
  let isDown = false
  let refused = 0
  let cutMarker: string | undefined
  let cuts = 0
  const waiters: (() => void)[] = []
  const server: Server = createServer((client) => {
    if (isDown) {
      refused++
      for (const w of waiters.splice(0)) w()
      client.destroy()
      return
    }
    const upstream = connect(target)
    open.add(client).add(upstream)
    const close = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
    let cutting = false
    client.on('data', (chunk: Buffer) => {
      if (cutMarker !== undefined && chunk.includes(cutMarker)) {
        cutMarker = undefined
        cutting = true
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
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
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
