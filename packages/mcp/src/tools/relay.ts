import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgentIdSchema, ConfigError, InvalidStateError, isAgentCommError } from '@agent-comm/protocol'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { plural } from '../format.js'
import { prose } from '../prose.js'
import type { RelaySecrets } from '../relay-secrets.js'
import { RelaySecretInfoSchema } from '../schemas.js'
import { Behaviour, registerTool, type ToolContext } from '../tool-kit.js'

function requireStore(store: RelaySecrets | undefined): RelaySecrets {
  if (store === undefined) {
    throw new ConfigError('This MCP server manages no relay secrets: no relay data folder was configured', {
      hint: "Start the MCP server with AGENT_COMM_RELAY_DATA_DIR=<the relay's data folder> (or --relay-data-dir) to manage relay secrets.",
    })
  }
  return store
}

/** comm_relay_gen_secret and comm_relay_list_secrets. */
export function registerRelayTools(server: McpServer, context: ToolContext): void {
  registerTool(
    server,
    context,
    'comm_relay_gen_secret',
    {
      title: 'Create a relay secret',
      description: prose`
        Generate the HMAC secret an agent uses to authenticate to the agent-comm HTTP relay (for agents on
        other machines, registered with transport http). The result is the only time the secret is shown: the
        secret is written to a file readable only by this user (never into this conversation): give the file
        to the agent's operator, who sets the named environment variable from it. An agent that has a secret
        is refused unless replace is true, which revokes the old one at once.
      `,
      inputSchema: {
        agent_id: AgentIdSchema.describe('the agent the secret is for'),
        replace: z
          .boolean()
          .optional()
          .describe('replace an existing secret (the old one stops working immediately)'),
      },
      outputSchema: {
        agentId: z.string(),
        file: z.string().describe('where the secret was written (mode 0600), as NAME=secret'),
        createdAt: z.string(),
        envVar: z.string().optional(),
      },
      behaviour: Behaviour.changes,
      actsAs: { parameter: 'agent_id', registered: false },
    },
    async (args) => {
      const store = requireStore(context.relaySecrets)
      let issued: Awaited<ReturnType<RelaySecrets['generate']>>
      try {
        issued = await store.generate(args.agent_id, args.replace === true ? { replace: true } : {})
      } catch (error) {
        if (isAgentCommError(error, 'INVALID_STATE') && args.replace !== true) {
          throw new InvalidStateError(error.message, {
            hint: `Call comm_relay_gen_secret again with replace: true to replace it (the old secret stops working at once), or keep using the current one.`,
            details: error.details,
          })
        }
        throw error
      }
      // The secret never enters the model's context: it goes to a private file for the operator.
      const dir = context.secretOutputDir ?? (await mkdtemp(join(tmpdir(), 'agent-comm-secret-')))
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const file = join(dir, `${issued.agentId}.env`)
      const name = issued.envVar ?? 'AGENT_COMM_SECRET'
      // A new file each time (mode 0600 applies only to a file being created): an earlier one left wider,
      // or a link put in its place, would otherwise carry the new secret to whoever can read it.
      await rm(file, { force: true })
      await writeFile(file, `${name}=${issued.secret}\n`, { mode: 0o600, flag: 'wx' })
      const data = {
        agentId: issued.agentId,
        file,
        createdAt: issued.createdAt,
        envVar: issued.envVar,
      }
      return {
        text: `Created the relay secret of '${issued.agentId}' and wrote it to ${file} (readable by this user only; not shown here). The agent's operator sets ${name} from it on the agent's machine (e.g. \`set -a; . ${file}; set +a\`), then deletes the file.`,
        data,
      }
    },
  )

  registerTool(
    server,
    context,
    'comm_relay_list_secrets',
    {
      title: 'List relay secrets',
      description: prose`
        List the agents that have a working relay secret, with when it was created (never the secrets
        themselves). Use it to check that a remote agent can authenticate to the relay before sending to it;
        create a missing one with comm_relay_gen_secret.
      `,
      inputSchema: {},
      outputSchema: { count: z.number().int(), secrets: z.array(RelaySecretInfoSchema) },
      behaviour: Behaviour.reads,
      actsAs: null,
    },
    async () => {
      const store = requireStore(context.relaySecrets)
      // Copy only the public facts, whatever else a store implementation returns.
      const secrets = (await store.list()).map((info) => ({
        agentId: info.agentId,
        createdAt: info.createdAt,
        activeSecrets: info.activeSecrets,
        previousValidUntil: info.previousValidUntil,
      }))
      const text =
        secrets.length === 0
          ? 'No agent has a relay secret. Create one with comm_relay_gen_secret.'
          : [
              `${plural(secrets.length, 'agent')} with a relay secret:`,
              ...secrets.map(
                (s) =>
                  `- ${s.agentId}: created ${s.createdAt}${
                    s.previousValidUntil === undefined
                      ? ''
                      : `; previous secret valid until ${s.previousValidUntil}`
                  }`,
              ),
            ].join('\n')
      return { text, data: { count: secrets.length, secrets } }
    },
  )
}
