import { z } from 'zod'
import { AgentProfileSchema } from './agent.js'
import { MessageV2Schema } from './message.js'

/** JSON Schema (draft 2020-12) of a MessageV2 as accepted on the wire, generated from the zod schema. */
export function messageV2JsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://agent-comm.dev/schemas/message-v2.schema.json',
    title: 'agent-comm MessageV2',
    description: 'A message of the agent-comm protocol, version 2.0.',
    ...z.toJSONSchema(MessageV2Schema, { io: 'input', target: 'draft-2020-12' }),
  }
}

/** JSON Schema (draft 2020-12) of an AgentProfile as accepted on the wire. */
export function agentProfileJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://agent-comm.dev/schemas/agent-profile.schema.json',
    title: 'agent-comm AgentProfile',
    ...z.toJSONSchema(AgentProfileSchema, { io: 'input', target: 'draft-2020-12' }),
  }
}
