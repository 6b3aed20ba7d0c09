import { A2A_CALLER_PREFIX, type AgentProfile } from '@agent-comm/protocol'
import { z } from 'zod'

/** One skill an agent offers to A2A callers, as listed on its Agent Card. */
export const A2ASkillSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -'),
  name: z.string().min(1).max(256).optional(),
  description: z.string().max(4096).optional(),
  tags: z.array(z.string().min(1).max(128)).max(64).default([]),
  examples: z.array(z.string().max(4096)).max(32).default([]),
})

/** A skill an agent offers to A2A callers. */
export type A2ASkill = z.output<typeof A2ASkillSchema>

/**
 * What an agent's registry profile says about A2A, under `metadata.a2a`: the skills that opt it in as an
 * A2A agent on the relay, or the card URL of an external A2A agent it stands for (`url`, outbound).
 */
export const A2AProfileSchema = z.object({
  skills: z.array(A2ASkillSchema).max(256).default([]),
  description: z.string().max(4096).optional(),
  inputModes: z.array(z.string().min(1)).default(['text/plain', 'application/json']),
  outputModes: z.array(z.string().min(1)).default(['text/plain', 'application/json']),
  url: z.url({ protocol: /^https?$/ }).optional(),
})

/** The `metadata.a2a` part of a profile. */
export type A2AProfile = z.output<typeof A2AProfileSchema>

/**
 * The A2A settings of `profile`, or undefined when it has none or they do not parse (an agent whose
 * metadata is broken is simply not offered to A2A callers).
 */
export function a2aProfileOf(profile: AgentProfile): A2AProfile | undefined {
  const raw = profile.metadata.a2a
  if (raw === undefined) return undefined
  const parsed = A2AProfileSchema.safeParse(raw)
  return parsed.success ? parsed.data : undefined
}

/** True when `profile` opted in as an A2A agent on the relay: it lists at least one skill. */
export function isA2AAgent(profile: AgentProfile): boolean {
  const a2a = a2aProfileOf(profile)
  return a2a !== undefined && a2a.skills.length > 0 && a2a.url === undefined
}

/**
 * Parses a `--a2a-skill` value: `id`, `id|Name` or `id|Name|tag1,tag2` (the name and tags optional).
 * Throws a zod error on a bad id.
 */
export function parseSkillFlag(value: string): A2ASkill {
  const [id = '', name, tags] = value.split('|')
  return A2ASkillSchema.parse({
    id: id.trim(),
    // Stored in the profile's metadata, whose JSON schema refuses an undefined value.
    ...(name === undefined || name.trim() === '' ? {} : { name: name.trim() }),
    tags:
      tags === undefined
        ? []
        : tags
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== ''),
  })
}

/** The identity an external caller holding token `name` has in the spool: `a2a:<name>`. */
export function callerAgentId(name: string): string {
  return `${A2A_CALLER_PREFIX}${name}`
}
