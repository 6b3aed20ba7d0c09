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
    app.addHook('preValidation', async (request) => {
      const caller = callerOf(request)
      if (caller !== undefined) limits.charge(caller, 1)
    })
  },
  { name: 'agent-comm-limits', dependencies: ['agent-comm-authentication'] },
)
