import type { AgentProfile } from '@agent-comm/protocol'

/**
 * A relay URL as a debug line may show it: scheme, host and path only. A URL's user info or query may carry
 * credentials, and a debug line must never print a secret.
 */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * Which transports the registered agents use, for a debug line: counts per transport, with the inbox
 * folders of `file` agents and the relays of `http` agents, e.g.
 * `2 agents: 1 sqlite, 1 http (relay http://127.0.0.1:8420)`. Built from the registry's list, so it shows
 * what is in use rather than what could be.
 */
export function describeAgentTransports(agents: readonly AgentProfile[]): string {
  if (agents.length === 0) return 'no agents registered'
  const parts: string[] = []
  for (const transport of ['sqlite', 'file', 'http'] as const) {
    const using = agents.filter((agent) => agent.transport === transport)
    if (using.length === 0) continue
    const places = [
      ...new Set(
        using.flatMap((agent) =>
          transport === 'file' && agent.inboxDir !== undefined
            ? [agent.inboxDir]
            : transport === 'http' && agent.relayUrl !== undefined
              ? [displayUrl(agent.relayUrl)]
              : [],
        ),
      ),
    ]
    const label = transport === 'file' ? 'inbox folder' : 'relay'
    parts.push(
      places.length === 0
        ? `${using.length} ${transport}`
        : `${using.length} ${transport} (${label}${places.length === 1 ? '' : 's'} ${places.join(', ')})`,
    )
  }
  return `${agents.length} agent${agents.length === 1 ? '' : 's'}: ${parts.join(', ')}`
}
