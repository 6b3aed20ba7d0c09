import { type AgentProfile, ConfigError, type Transport, type TransportKind } from '@agent-comm/protocol'

/** Builds the transport that reaches one agent, e.g. a FileTransport on its inbox folder. */
export type TransportFactory = (profile: AgentProfile) => Transport

/** The transports a coordinator routes over. */
export interface TransportSet {
  /** The local spool: agents registered with `transport: sqlite`. */
  sqlite: Transport
  /** Agents registered with `transport: file` (their `inboxDir`). */
  file?: TransportFactory
  /** Agents registered with `transport: http` (their `relayUrl`). */
  http?: TransportFactory
}

/** Where the route for an agent with no profile (an unregistered recipient) goes. */
export interface DefaultRoute {
  kind: 'sqlite' | 'file'
  /** The transport used for it. */
  transport: Transport
}

/**
 * Picks the transport for each agent ("hybrid routing", as in the original design): `http` agents through
 * their relay, `file` agents through their inbox folder, everything else through SQLite. Transports made by
 * factories are cached per location and closed with the router.
 */
export class TransportRouter {
  readonly #set: TransportSet
  readonly #fallback: DefaultRoute
  readonly #made = new Map<string, Transport>()

  constructor(set: TransportSet, fallback: DefaultRoute) {
    this.#set = set
    this.#fallback = fallback
  }

  /** The transport for `profile`, or the default one for an unregistered agent. */
  for(profile: AgentProfile | undefined): Transport {
    if (profile === undefined) return this.#fallback.transport
    return this.#forKind(profile.transport, profile)
  }

  /** Every transport in use so far, the local one first. */
  all(): Transport[] {
    return [...new Set([this.#set.sqlite, this.#fallback.transport, ...this.#made.values()])]
  }

  /** Closes the transports this router created. */
  async close(): Promise<void> {
    const made = [...this.#made.values()]
    this.#made.clear()
    await Promise.all(made.map((t) => t.close()))
  }

  #forKind(kind: TransportKind, profile: AgentProfile): Transport {
    if (kind === 'sqlite') return this.#set.sqlite
    const factory = this.#set[kind]
    if (factory === undefined) {
      throw new ConfigError(
        `Agent '${profile.agentId}' is registered with transport '${kind}', but this coordinator has no ${kind} transport`,
        {
          hint:
            kind === 'http'
              ? 'Pass an http transport factory (see @agent-comm/transport-http), or re-register the agent with --transport-type sqlite.'
              : 'Pass a file transport factory, or re-register the agent with --transport-type sqlite.',
          details: { agentId: profile.agentId, transport: kind },
        },
      )
    }
    const key = `${kind}:${kind === 'http' ? profile.relayUrl : profile.inboxDir}`
    let transport = this.#made.get(key)
    if (transport === undefined) {
      transport = factory(profile)
      this.#made.set(key, transport)
    }
    return transport
  }
}
