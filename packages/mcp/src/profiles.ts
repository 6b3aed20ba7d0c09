// Tool profiles: which tools a session offers, from `--tools` / `AGENT_COMM_MCP_TOOLS`. Fewer tools is
// fewer tokens in every prompt; an assistant that only talks to others needs the core set.
import { ValidationError } from '@agent-comm/protocol'

type Profile = 'core' | 'messaging' | 'admin'

/**
 * Every tool the server offers, in the order `tools/list` returns them, with the profiles that include it:
 * the one home of both lists. `core` is what an assistant needs to talk with others; `messaging` adds
 * looking around (agents, threads, search); `admin` is the operator's set.
 */
const TOOLS = {
  comm_start_session: ['core', 'messaging', 'admin'],
  comm_register_agent: ['messaging', 'admin'],
  comm_discover_agents: ['messaging', 'admin'],
  comm_deregister: ['admin'],
  comm_heartbeat: ['messaging', 'admin'],
  comm_send: ['core', 'messaging'],
  comm_reply: ['core', 'messaging'],
  comm_request: ['core', 'messaging'],
  comm_await_reply: ['core', 'messaging'],
  comm_poll: ['core', 'messaging'],
  comm_ack: ['core', 'messaging'],
  comm_nack: ['core', 'messaging'],
  comm_message_status: ['core', 'messaging', 'admin'],
  comm_get_conversation: ['core', 'messaging'],
  comm_list_conversations: ['messaging'],
  comm_search: ['messaging'],
  comm_spool_stats: ['admin'],
  comm_cleanup: ['admin'],
  comm_relay_gen_secret: ['admin'],
  comm_relay_list_secrets: ['admin'],
} as const satisfies Record<string, readonly Profile[]>

/** A tool's name. */
export type ToolName = keyof typeof TOOLS

/** Every tool the server offers, in the order `tools/list` returns them. */
export const TOOL_NAMES = Object.keys(TOOLS) as readonly ToolName[]

const inProfile = (profile: Profile): readonly ToolName[] =>
  TOOL_NAMES.filter((name) => (TOOLS[name] as readonly Profile[]).includes(profile))

/** The named profiles, each a list of tool names in `tools/list` order (see `TOOLS` above). */
export const TOOL_PROFILES: Readonly<Record<Profile, readonly ToolName[]>> = {
  core: inProfile('core'),
  messaging: inProfile('messaging'),
  admin: inProfile('admin'),
}

/** Tools that manage relay secrets: offered only when the server has a relay data folder or database. */
export const RELAY_SECRET_TOOLS: ReadonlySet<string> = new Set<ToolName>([
  'comm_relay_gen_secret',
  'comm_relay_list_secrets',
])

/**
 * Which tools a `--tools` value selects: `all` (default), a profile name, or a comma list mixing profile
 * names and tool names (with or without `comm_`). `known` are the tools the server has; an unknown name is
 * a `ValidationError` naming it.
 */
export function selectTools(spec: string | undefined, known: readonly string[]): (name: string) => boolean {
  const value = spec?.trim() === '' || spec === undefined ? 'all' : spec.trim()
  const selected = new Set<string>()
  let all = false
  for (const raw of value.split(',')) {
    const item = raw.trim()
    if (item === '') continue
    if (item === 'all') {
      // Every tool the server registers, including ones newer than this list.
      all = true
      continue
    }
    const profile = (TOOL_PROFILES as Record<string, readonly string[]>)[item]
    if (profile !== undefined) {
      for (const name of profile) selected.add(name)
      continue
    }
    const name = item.startsWith('comm_') ? item : `comm_${item}`
    if (!known.includes(name)) {
      throw new ValidationError(`Invalid --tools: '${item}' is neither a profile nor a tool`, [
        {
          path: 'tools',
          message: `use all, ${Object.keys(TOOL_PROFILES).join(', ')} or tool names (${known.join(', ')})`,
        },
      ])
    }
    selected.add(name)
  }
  return (name) => all || selected.has(name)
}
