// The receiving side of the cross-process latency benchmark: waits for messages with waitForMessages
// and reports, over IPC, the moment each wake-up happened. Started by spool.bench.mjs.
import { Spool } from '../dist/index.js'

const [path] = process.argv.slice(2)
const spool = await Spool.open({ path })
const now = () => performance.timeOrigin + performance.now()
let running = true
process.on('message', (msg) => {
  if (msg === 'stop') running = false
})
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
await spool.close()
process.disconnect?.()
