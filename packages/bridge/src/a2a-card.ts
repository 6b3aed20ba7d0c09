import { ConfigError, errorMessage } from '@agent-comm/protocol'
import { z } from 'zod'
import { isRedirectRefused } from './redirects.js'

/**
 * The part of an A2A 1.0 Agent Card the bridge relies on, checked before any message is sent: a name and
 * at least one JSON-RPC interface with an http(s) URL. Other fields pass through untouched.
 */
export const RemoteAgentCardSchema = z
  .object({
    name: z.string().min(1),
    supportedInterfaces: z
      .array(
        z
          .object({
            url: z.url({ protocol: /^https?$/ }),
            protocolBinding: z.string().min(1),
            protocolVersion: z.string().optional(),
          })
          .loose(),
      )
      .min(1),
    capabilities: z.object({ streaming: z.boolean().optional() }).loose().optional(),
  })
  .loose()
  .refine((card) => card.supportedInterfaces.some((i) => i.protocolBinding === 'JSONRPC'), {
    message: 'has no JSONRPC interface',
    path: ['supportedInterfaces'],
  })

/** A remote Agent Card that passed {@link RemoteAgentCardSchema}. */
export type RemoteAgentCard = z.output<typeof RemoteAgentCardSchema>

/**
 * Fetches and validates the Agent Card at `url`. Throws `ConfigError` naming the URL and what is wrong:
 * unreachable, not JSON, or not a card this bridge can use.
 */
export async function fetchAgentCard(
  url: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<RemoteAgentCard> {
  const doFetch = options.fetch ?? fetch
  let response: Response
  try {
    response = await doFetch(url, {
      headers: { accept: 'application/json', ...options.headers },
      // A redirect is not followed (it could point anywhere, an internal address): a 3xx is refused below.
      redirect: 'manual',
      signal: options.signal,
    })
  } catch (error) {
    if (isRedirectRefused(error)) {
      throw new ConfigError(`The A2A agent card at ${url}: ${(error as Error).message}`, {
        hint: 'Give agent-comm register --a2a-url the URL the card is served at, not one that redirects.',
      })
    }
    throw new ConfigError(`The A2A agent card at ${url} is unreachable: ${errorMessage(error)}`, {
      hint: 'Check the --a2a-url given to agent-comm register, and that the agent is up.',
    })
  }
  if (!response.ok) {
    await response.body?.cancel()
    const refused = response.status === 401 || response.status === 403
    throw new ConfigError(`The A2A agent card at ${url} answered HTTP ${response.status}`, {
      hint: refused
        ? 'The agent wants a bearer token or refused the one sent: set its token (agent-comm bridge reads AGENT_COMM_A2A_TOKEN_<AGENT>, else AGENT_COMM_A2A_TOKEN).'
        : 'Check the --a2a-url given to agent-comm register (usually …/.well-known/agent-card.json).',
    })
  }
  let json: unknown
  try {
    json = await response.json()
  } catch {
    throw new ConfigError(`The A2A agent card at ${url} is not JSON`, {
      hint: 'The URL must serve the agent card itself, usually …/.well-known/agent-card.json.',
    })
  }
  const parsed = RemoteAgentCardSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConfigError(
      `The A2A agent card at ${url} is invalid: ${issue === undefined ? 'unknown problem' : `${issue.path.join('.') || '(root)'} ${issue.message}`}`,
      {
        hint: 'The bridge speaks A2A 1.0 over JSON-RPC: the card needs a name and a JSONRPC supportedInterfaces entry.',
      },
    )
  }
  return parsed.data
}
