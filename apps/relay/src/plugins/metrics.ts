import type { Registry } from '@agent-comm/registry'
import type { Spool } from '@agent-comm/spool'
import fp from 'fastify-plugin'
import type { QueueFigures, RelayMetrics } from '../metrics.js'
import { callerOf } from './authentication.js'

/**
 * Observes every answer (its route, status and time, in `metrics`, and one log line with the agent) and
 * serves the Prometheus text at `GET /metrics`, with the spool's queue figures and the registry's agent
 * presence when it can read them.
 */
export const metricsPlugin = fp<{ metrics: RelayMetrics; spool: Spool; registry: Registry }>(
  async (app, { metrics, spool, registry }) => {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched'
      metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
      const caller = callerOf(request)
      request.log.info(
        {
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          agentId: caller?.agentId,
        },
        'request completed',
      )
      done()
    })

    app.get('/metrics', async (request, reply) => {
      let queue: QueueFigures | undefined
      try {
        const [stats, agents] = await Promise.all([spool.stats(), registry.countByStatus()])
        queue = { ...stats, agents }
      } catch (error) {
        request.log.warn({ err: error }, 'metrics could not read the database')
      }
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.render(queue))
    })
  },
  { name: 'agent-comm-metrics' },
)
