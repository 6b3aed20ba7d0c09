import type { Clock } from '@agent-comm/protocol'
import type { Registry } from '@agent-comm/registry'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import { forbidden } from '../http-errors.js'
import { callerOf } from './authentication.js'

/**
 * After authentication and the rate limit: refuses a route with `config.auth: 'admin'` to anyone but the
 * admin, and records every other authenticated request as a sign of life of its agent (presence).
 */
export const authorizationPlugin = fp<{ registry: Registry; clock: Clock }>(
  async (app, { registry, clock }) => {
    // The registry writes lastSeen at most once a second anyway; remembering when we last asked spares it
    // the read on every request of a busy agent.
    const lastTouched = new Map<string, number>()
    const touch = (agentId: string, log: FastifyBaseLogger): void => {
      const now = clock.now()
      const last = lastTouched.get(agentId)
      if (last !== undefined && now - last < 1000 && now >= last) return
      if (lastTouched.size > 10_000) lastTouched.clear()
      lastTouched.set(agentId, now)
      registry.touch(agentId).catch((error: unknown) => {
        log.warn({ err: error, agentId }, 'could not record presence')
      })
    }

    // A callback hook: nothing here waits (the presence write runs on its own), so no promise per request.
    // A refusal thrown here is answered as a rejection would be (fastify catches it).
    app.addHook('preValidation', (request, _reply, done) => {
      const caller = callerOf(request)
      if (caller !== undefined) {
        if (request.routeOptions.config.auth === 'admin' && !caller.admin) {
          throw forbidden(`Only the relay's admin may call ${request.method} ${request.routeOptions.url}`)
        }
        if (!caller.admin) touch(caller.agentId, request.log)
      }
      done()
    })
  },
  { name: 'agent-comm-authorization', dependencies: ['agent-comm-limits'] },
)
