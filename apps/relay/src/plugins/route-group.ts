import { ValidationError } from '@agent-comm/protocol'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Caller } from '../auth.js'
import { openApiDocument } from '../openapi.js'
import { parseJsonBody, type RouteDef } from '../route-table.js'
import { RELAY_VERSION } from '../version.js'
import type { ZodTypeProvider } from '../zod-type-provider.js'
import { callerOf } from './authentication.js'

const ANONYMOUS: Caller = { agentId: '', admin: false }

/**
 * Every route the relay serves from its route table, in the order the groups were registered: the one
 * list the OpenAPI document is generated from, so the document cannot drift from what the relay does.
 */
export class RouteTable {
  readonly #routes: RouteDef[] = []
  #document: Record<string, unknown> | undefined

  add(def: RouteDef): void {
    this.#routes.push(def)
    this.#document = undefined
  }

  /** The OpenAPI 3.1 document of every route added (built once, on first use). */
  openApi(): Record<string, unknown> {
    this.#document ??= openApiDocument(this.#routes, { version: RELAY_VERSION })
    return this.#document
  }
}

/**
 * One group of routes of the table (system, messages, deliveries, agents, admin, console) as an
 * encapsulated plugin: each route is validated with its zod schemas, authenticated by the plugins of the
 * enclosing context (through `config.auth`) and answered from its handler; each is added to `table`.
 */
export const routeGroup: FastifyPluginAsync<{ routes: readonly RouteDef[]; table: RouteTable }> = async (
  app,
  { routes, table },
) => {
  for (const def of routes) {
    table.add(def)
    mount(app, def)
  }
}

function mount(app: FastifyInstance, def: RouteDef): void {
  app.withTypeProvider<ZodTypeProvider>().route({
    method: def.method,
    url: def.url,
    config: { auth: def.auth },
    // Validated by fastify with the route's zod schemas (zodValidatorCompiler), after preValidation below.
    // Keys left out, not undefined: fastify warns (FSTWRN001) about a schema key set to undefined.
    schema: {
      ...(def.params === undefined ? {} : { params: def.params }),
      ...(def.query === undefined ? {} : { querystring: def.query }),
      ...(def.body === undefined ? {} : { body: def.body }),
    },
    // After the context's authentication hooks: JSON is parsed only once the signature over its raw bytes holds.
    // A callback hook (nothing here waits; an async one costs a promise per request): what it throws is
    // answered as a rejection would be (fastify catches it).
    preValidation: (request, _reply, done) => {
      const body = parseJsonBody(request.body)
      if (def.body === undefined && body !== undefined) {
        throw new ValidationError('Invalid request body: this endpoint takes no body', [
          { path: '(root)', message: 'must be empty' },
        ])
      }
      request.body = body
      done()
    },
    handler: async (request, reply) => {
      const result = await def.handler({
        params: request.params,
        query: request.query,
        body: request.body,
        caller: callerOf(request) ?? ANONYMOUS,
        request,
        reply,
      })
      if (def.stream) return reply
      if (reply.statusCode === 200) reply.code(def.status ?? (def.response === undefined ? 204 : 200))
      return def.response === undefined ? reply.send() : reply.send(result)
    },
  })
}
