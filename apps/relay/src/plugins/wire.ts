import { RelayErrorCode } from '@agent-comm/transport-http'
import fp from 'fastify-plugin'
import { toErrorReply } from '../http-errors.js'
import { zodValidatorCompiler } from '../zod-type-provider.js'

/**
 * What requests and errors look like on the wire: bodies kept as raw bytes (the signature covers their
 * exact SHA-256, and JSON is parsed only after the request proved who sent it; anything but JSON is 415),
 * validated with zod, and every error answered in the relay's `{ error: { code, message, hint } }` shape.
 */
export const wirePlugin = fp(
  async (app) => {
    app.setValidatorCompiler(zodValidatorCompiler)
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    )
    app.setErrorHandler((error, request, reply) => {
      const mapped = toErrorReply(error, String(request.id))
      if (mapped.serverFault) request.log.error({ err: error }, 'request failed')
      if (mapped.headers !== undefined) reply.headers(mapped.headers)
      return reply.code(mapped.status).send(mapped.body)
    })
    app.setNotFoundHandler((request, reply) => {
      const path = (request.raw.url ?? '').split('?')[0]
      return reply.code(404).send({
        error: {
          code: RelayErrorCode.NOT_FOUND,
          message: `No endpoint ${request.method} ${path}`,
          hint: 'The API is under /api/v1; GET /api/v1/openapi.json lists every endpoint.',
        },
      })
    })
  },
  { name: 'agent-comm-wire' },
)
