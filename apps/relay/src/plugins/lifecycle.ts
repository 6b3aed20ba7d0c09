import fp from 'fastify-plugin'
import type { NonceStore } from '../nonces.js'

/**
 * The relay's own lifecycle: `closing` aborts when closing starts (long polls answer, streams end), every
 * answer names its request id, answers sent while closing close their connection, and nonces still waiting
 * for their group commit are written after the last request, before the database closes.
 */
export const lifecyclePlugin = fp<{ closing: AbortController; nonces: NonceStore }>(
  async (app, { closing, nonces }) => {
    app.addHook('preClose', (done) => {
      closing.abort()
      done()
    })
    app.addHook('onClose', async () => {
      await nonces.flush()
    })
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('x-request-id', request.id)
      // While shutting down, answers in flight close their connection: a keep-alive socket left idle would
      // hold the server open until the client happened to drop it.
      if (closing.signal.aborted) reply.header('connection', 'close')
      done(null, payload)
    })
  },
  { name: 'agent-comm-lifecycle' },
)
