import fp from 'fastify-plugin'
import type { RelayLimits } from '../limits.js'
import { callerOf } from './authentication.js'

/**
 * Every authenticated request pays one unit of its agent's rate limit, once it is known who sent it and
 * before its body is validated: an invalid request costs the relay work too, so it counts like any other.
 * Registered after the authentication plugin, whose hook runs first.
 */
export const limitsPlugin = fp<{ limits: RelayLimits }>(
  async (app, { limits }) => {
    // A callback hook, not an async one: nothing here waits, and an async hook costs a promise and a
    // microtask per request. A refusal thrown here is answered as a rejection would be (fastify catches it).
    app.addHook('preValidation', (request, _reply, done) => {
      const caller = callerOf(request)
      if (caller !== undefined) limits.charge(caller, 1)
      done()
    })
  },
  { name: 'agent-comm-limits', dependencies: ['agent-comm-authentication'] },
)
