import { z } from 'zod'
import { AgentIdSchema } from './identifiers.js'
import { lazySchema } from './lazy-schema.js'
import { Limits } from './limits.js'
import { JsonObjectSchema } from './payload.js'
import { redactUrl, urlPassword } from './redact-url.js'
import { freeText } from './text.js'
import { AGENT_STATUSES, TRANSPORT_KINDS } from './vocabulary.js'

export { AGENT_STATUSES, TRANSPORT_KINDS } from './vocabulary.js'

/** How an agent is reached. */
export type TransportKind = (typeof TRANSPORT_KINDS)[number]

/** Schema of {@link TransportKind}. */
export const TransportKindSchema = lazySchema(() =>
  z.enum(TRANSPORT_KINDS, {
    error: () => `must be one of ${TRANSPORT_KINDS.join(', ')}`,
  }),
)

/** Presence of an agent. */
export type AgentStatus = (typeof AGENT_STATUSES)[number]

/** Schema of {@link AgentStatus}. */
export const AgentStatusSchema = lazySchema(() =>
  z.enum(AGENT_STATUSES, {
    error: () => `must be one of ${AGENT_STATUSES.join(', ')}`,
  }),
)

/** A capability name such as `code` or `human-review`. */
export const CapabilitySchema = lazySchema(() =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(Limits.capabilityMaxLength, `must be at most ${Limits.capabilityMaxLength} characters`),
      z.regex(/^[A-Za-z0-9._:@/-]+$/, 'may contain only letters, digits and . _ : @ / -'),
    ),
)

const HttpUrlSchema = lazySchema(() => z.url({ protocol: /^https?$/ }))

/** An agent as the registry knows it. */
export const AgentProfileSchema = lazySchema(() =>
  z.object({
    agentId: AgentIdSchema,
    capabilities: z.array(CapabilitySchema).default([]),
    device: freeText().check(z.minLength(1, 'must not be empty'), z.maxLength(256)).default('local'),
    transport: TransportKindSchema.default('sqlite'),
    status: AgentStatusSchema.default('active'),
    /** ISO-8601 time of the agent's last activity. */
    lastSeen: z.iso.datetime({ offset: true }).optional(),
    /** ISO-8601 time of first registration. */
    registeredAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * Relay base URL, for `http` agents; several comma-separated for a relay run as replicas without one
     * address in front (a client moves on to the next when one cannot be reached).
     */
    relayUrl: freeText()
      .refine(
        (value) => value.split(',').every((part) => HttpUrlSchema.safeParse(part.trim()).success),
        'must be an http(s) URL, or several comma-separated',
      )
      .optional(),
    /**
     * Folder of the file transport a `file` agent reads from; its messages are files in
     * `<inboxDir>/inbox/<agentId>/`.
     */
    inboxDir: freeText().min(1).optional(),
    metadata: JsonObjectSchema.default({}),
  }),
)

/** An agent as the registry knows it. */
export type AgentProfile = z.output<typeof AgentProfileSchema>

/** What a caller supplies to register an agent. */
export type AgentProfileInput = z.input<typeof AgentProfileSchema>

/**
 * A profile as `register` accepts it: the protocol's schema, plus what each transport needs to reach the
 * agent. `sqlite` agents share this machine's database and need nothing more.
 */
export const AgentRegistrationSchema = lazySchema(() =>
  AgentProfileSchema.superRefine((profile, ctx) => {
    if (profile.transport === 'http' && profile.relayUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['relayUrl'],
        message:
          "is required for transport 'http': give the relay's base URL, e.g. https://relay.example.com",
      })
    }
    if (profile.transport === 'file' && profile.inboxDir === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['inboxDir'],
        message: "is required for transport 'file': give the folder the agent reads its messages from",
      })
    }
    // Given to another transport, a relay URL or an inbox folder would be stored and never used: an agent
    // meant to be reached through a relay would silently receive in this database instead.
    if (profile.relayUrl !== undefined && profile.transport !== 'http') {
      ctx.addIssue({
        code: 'custom',
        path: ['relayUrl'],
        message: `is only used by transport 'http', not '${profile.transport}': register the agent with transport 'http' to reach it through that relay, or leave the relay URL out`,
      })
    }
    if (profile.inboxDir !== undefined && profile.transport !== 'file') {
      ctx.addIssue({
        code: 'custom',
        path: ['inboxDir'],
        message: `is only used by transport 'file', not '${profile.transport}': register the agent with transport 'file' to reach it through that folder, or leave the folder out`,
      })
    }
    // A profile is read by every agent (`agents`, the relay's GET /agents): a password in it would be theirs.
    if (profile.relayUrl?.split(',').some((part) => hasCredentials(part.trim())) === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['relayUrl'],
        message:
          'must not contain credentials (user:password@) nor a token parameter: every agent can read a profile; agents authenticate to a relay with their own secret',
      })
    }
  }),
)

/**
 * Whether `url` carries anything {@link redactUrl} would hide: user info (also one the URL parser would read
 * as a host and a fragment, `https://ops:12#pw@relay`), a secret-named query parameter or a fragment.
 */
function hasCredentials(url: string): boolean {
  return urlPassword(url) !== undefined || /\/\/[^/]*@/.test(url) || redactUrl(url) !== url
}
