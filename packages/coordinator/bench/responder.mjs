// The responding side of the request/reply benchmark, in its own process: answers every message to
// `builder` with a reply (messages({ autoAck })), until the parent says 'stop' over IPC.
// Usage: node responder.mjs PROJECT_ROOT [RELAY_URL] — with a relay URL, `builder` and `architect` are
// reached through that relay, `builder` signing with AGENT_COMM_SECRET_BUILDER.
import { HttpTransport, secretFromEnv } from '@agent-comm/transport-http'
import { createCoordinator, loadConfig } from '../dist/index.js'

const [root, relayUrl] = process.argv.slice(2)
const coord = await createCoordinator(
  loadConfig({ AGENT_COMM_PROJECT_ROOT: root }),
  relayUrl === undefined
    ? {}
    : {
        http: () =>
          new HttpTransport({
            baseUrl: relayUrl,
            secretFor: (agentId) => secretFromEnv(process.env, agentId),
            identity: 'builder',
          }),
      },
)
if (relayUrl !== undefined) {
  for (const agentId of ['architect', 'builder'])
    await coord.register({ agentId, transport: 'http', relayUrl })
}
const stop = new AbortController()
process.on('message', (message) => {
  if (message === 'stop') stop.abort()
})
process.send?.('ready')
for await (const claimed of coord.messages('builder', { signal: stop.signal, autoAck: true })) {
  await coord.reply(claimed, { body: 'done' })
}
await coord.close()
process.disconnect?.()
