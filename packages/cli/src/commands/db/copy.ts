import { Flags } from '@oclif/core'
import { BaseCommand, dbFlagOnly } from '../../base-command.js'
import { copyDatabase } from '../../database-copy.js'
import { examples } from '../../examples.js'
import type { DbCopyResult } from '../../json-output.js'

/** `agent-comm db copy`: copies everything from the database of `--db` into another one. */
export default class DbCopy extends BaseCommand<typeof DbCopy> {
  static override summary =
    'Copy every agent, message and delivery into another database (SQLite ↔ PostgreSQL).'
  static override description =
    `Copies the database of --db (or AGENT_COMM_DB_PATH; on PostgreSQL the schema of AGENT_COMM_PG_SCHEMA) into --to, a SQLite file or a postgres:// URL: registered agents with their capabilities, metadata, transport and presence; every message (ids, conversation, reply-to, payload, metadata, priority, times, held group messages); every delivery in its exact state (queued, leased with its lease and receipt, acked, dead-lettered, attempts, due time, last error); idempotency keys; and, from a relay's database, its A2A tokens, tasks and their messages. The source is read in one consistent snapshot; the destination is written in one transaction and then verified.

The destination must hold no agent-comm data (else CONFLICT, nothing written); it is created and migrated if new, and removed again if the copy fails. Not copied: relay nonces, console sessions, the relay's agent secrets (run relay gen-secret on the destination) and A2A push-signing keys. --dry-run only counts.`
  static override examples = examples`
    --to postgres://agents@db.internal:5432/agents
    --to postgres://agents@db.internal:5432/agents --to-schema team_a --dry-run
    --db postgres://agents@db.internal/agents --to ./data/coordination.db
  `
  // The source must exist (it is never created) and is agent-comm's own: no --create, --allow-foreign-tables.
  static override baseFlags = dbFlagOnly
  static override flags = {
    to: Flags.string({
      description:
        'the destination: a SQLite file or a postgres:// URL (created if new; must hold no agent-comm data)',
      helpValue: '<path|url>',
      required: true,
    }),
    'to-schema': Flags.string({
      description:
        "the destination's PostgreSQL schema (default: the source's, AGENT_COMM_PG_SCHEMA or agent_comm)",
      helpValue: '<schema>',
    }),
    'dry-run': Flags.boolean({
      description: 'read the source and count what would be copied; write nothing',
    }),
  }

  async run(): Promise<DbCopyResult> {
    const { flags } = this
    const result = await copyDatabase({
      db: flags.db,
      to: flags.to,
      toSchema: flags['to-schema'],
      dryRun: flags['dry-run'] === true,
    })
    const place = (where: string, schema: string | undefined) =>
      schema === undefined ? where : `${where} (schema ${schema})`
    const { counts } = result
    const byStatus = Object.entries(counts.deliveriesByStatus)
      .map(([status, n]) => `${status} ${n}`)
      .join(', ')
    const lines = [
      `${result.dryRun ? 'Would copy' : 'Copied'} ${place(result.from, result.fromSchema)} to ${place(result.to, result.toSchema)}:`,
      `  agents            ${counts.tables.agents ?? 0} (${counts.tables.agent_capabilities ?? 0} capabilities)`,
      `  messages          ${counts.messages} (${counts.heldMessages} held for agents registering later)`,
      `  deliveries        ${counts.deliveries} (${byStatus})`,
      `  idempotency keys  ${counts.idempotencyKeys}`,
    ]
    if (counts.tables.a2a_tasks !== undefined) {
      lines.push(
        `  A2A               ${counts.tables.a2a_tasks} tasks, ${counts.tables.a2a_caller_messages ?? 0} caller messages, ${counts.tables.a2a_tokens ?? 0} tokens, ${counts.tables.a2a_events ?? 0} events`,
      )
    }
    if (result.verify !== undefined) {
      lines.push(
        result.verify.ok
          ? 'Verified the destination: ok'
          : `Verified the destination: ${result.verify.problems.length} problem(s):\n${result.verify.problems.map((p) => `  - ${p}`).join('\n')}`,
      )
    }
    lines.push('Not copied:', ...result.notCopied.map((what) => `  - ${what}`))
    this.log(lines.join('\n'))
    if (result.verify !== undefined && !result.verify.ok) process.exitCode = 1
    return result
  }
}
