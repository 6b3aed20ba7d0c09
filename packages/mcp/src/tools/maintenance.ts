import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { plural } from '../format.js'
import { prose } from '../prose.js'
import { CleanupOutputShape, StatsOutputShape } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'

function age(ms: number | null): string {
  if (ms === null) return 'none'
  if (ms < 1000) return `${ms} ms`
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 3_600_000)} h`
}

/** comm_spool_stats and comm_cleanup. */
export function registerMaintenanceTools(server: McpServer, context: ToolContext): void {
  const { coordinator } = context

  registerTool(
    server,
    context,
    'comm_spool_stats',
    {
      title: 'Queue statistics',
      description: prose`
        Health of the message spool: messages stored, deliveries by status (queued, leased, acked, failed,
        expired), the age of the oldest waiting message, the failure rate, the backlog of each agent and how
        many registered agents are active. Use it to spot an agent that is not polling (a growing queue) or
        failing messages; comm_cleanup removes expired ones.
      `,
      inputSchema: {},
      outputSchema: StatsOutputShape,
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async () => {
      const stats = await coordinator.stats()
      const d = stats.deliveries
      const backlog = Object.entries(stats.agents)
        .filter(([, a]) => a.queued + a.leased + a.failed > 0)
        .map(([agent, a]) => `- ${agent}: ${a.queued} queued, ${a.leased} leased, ${a.failed} failed`)
      const r = stats.registeredAgents
      const text = [
        `${plural(stats.totalMessages, 'message')} stored.`,
        `Deliveries: ${d.queued} queued, ${d.leased} leased, ${d.acked} acked, ${d.failed} failed, ${d.expired} expired (failure rate ${(stats.failedRate * 100).toFixed(1)}%).`,
        `Oldest waiting message: ${age(stats.oldestQueuedAgeMs)}; oldest lease: ${age(stats.oldestLeaseAgeMs)}.`,
        `Registered agents: ${r.active} active, ${r.inactive} inactive, ${r.offline} offline.`,
        ...(backlog.length === 0 ? ['No agent has a backlog.'] : ['Backlog by agent:', ...backlog]),
      ].join('\n')
      return { text, data: { ...stats } }
    },
  )

  registerTool(
    server,
    context,
    'comm_cleanup',
    {
      title: 'Remove expired messages',
      description: prose`
        Delete messages whose time-to-live has passed and, with acked_older_than_hours, messages every
        recipient acknowledged longer ago than that, and on a relay's database its finished A2A tasks older
        than that and 24 h. This permanently removes history (they disappear from conversations and search).
        Run with dry_run: true first to see what would go.
      `,
      inputSchema: {
        dry_run: z.boolean().default(false).describe('only count what would be removed'),
        acked_older_than_hours: z
          .number()
          .min(0)
          .optional()
          .describe('also remove fully acked messages older than this many hours'),
      },
      outputSchema: CleanupOutputShape,
      behaviour: Behaviour.removes,
      actsAs: null,
    },
    async (args) => {
      const ackedOlderThanMs =
        args.acked_older_than_hours === undefined
          ? undefined
          : Math.round(args.acked_older_than_hours * 3_600_000)
      const report = await coordinator.cleanup({ dryRun: args.dry_run, ackedOlderThanMs })
      // On a relay's database, its finished A2A tasks too: the same home as `agent-comm cleanup`'s.
      const a2a =
        context.a2aTasks === undefined
          ? undefined
          : await (await import('@agent-comm/coordinator/a2a-cleanup')).cleanupA2ATasksIn(context.a2aTasks, {
              olderThanMs: ackedOlderThanMs,
              dryRun: report.dryRun,
              clock: context.clock,
            })
      const verb = report.dryRun ? 'Would remove' : 'Removed'
      const tasks =
        a2a === undefined
          ? ''
          : `, and ${a2a.tasks} finished A2A tasks (${a2a.callerMessages} caller message ids)`
      const text = `${verb} ${report.expiredMessages} expired and ${report.ackedMessages} acked messages (${report.deliveries} deliveries)${tasks}.${
        report.dryRun ? ' Nothing was deleted: call again without dry_run to remove them.' : ''
      }`
      return {
        text,
        data:
          a2a === undefined
            ? { ...report }
            : { ...report, a2aTasks: a2a.tasks, a2aCallerMessages: a2a.callerMessages },
      }
    },
  )
}
