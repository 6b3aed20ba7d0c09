// The receiving side of the cross-process latency benchmark: waits in waitForMessages on the PostgreSQL
// store and reports, over IPC, the moment each wake-up happened. Started by store.bench.mjs.
import { openStoreSpool } from './store-spool.mjs'

const [url] = process.argv.slice(2)
const { spool, close } = await openStoreSpool(url)
const now = () => performance.timeOrigin + performance.now()
let running = true
process.on('message', (msg) => {
  if (msg === 'stop') running = false
})
// Listening before the producer starts: the first wait opens the store's LISTEN connection.
await spool.waitForMessages('consumer', { timeoutMs: 1 })
process.send?.('ready')
while (running) {
  const found = await spool.waitForMessages('consumer', { timeoutMs: 200 })
  if (!found) continue
  const wokeAt = now()
  const claimed = await spool.claim('consumer', { limit: 100 })
  for (const { message, lease } of claimed) {
    await spool.ack(message.id, 'consumer', { receipt: lease.receipt })
    process.send?.({ id: message.id, wokeAt })
  }
}
await close()
process.disconnect?.()
