import { z } from 'zod'
import { AgentProfileSchema } from './agent.js'
import { ApprovalRequestSchema, ApprovalResponseSchema } from './approval.js'
import { MessageV2Schema } from './message.js'

/**
 * Generator options shared by both schemas. zod drops a field's `default` from an input schema when the
 * field's schema transforms its input, which the JSON-limit guard formally does (it is a preprocess that
 * checks and passes the value on unchanged); the override puts those defaults back.
 */
const GENERATOR_OPTIONS: Parameters<typeof z.toJSONSchema>[1] = {
  io: 'input',
  target: 'draft-2020-12',
  override: (ctx) => {
    const def = ctx.zodSchema._zod.def
    if (def.type === 'default' && !('default' in ctx.jsonSchema)) {
      ctx.jsonSchema.default = (def as z.core.$ZodDefaultDef).defaultValue as z.core.JSONSchema._JSONSchema
    }
  },
}

/** The JSON Schema document of `schema`, published as `https://agent-comm.dev/schemas/<file>.schema.json`. */
function schemaDocument(
  file: string,
  title: string,
  schema: z.ZodType,
  description?: string,
): Record<string, unknown> {
  return {
    $id: `https://agent-comm.dev/schemas/${file}.schema.json`,
    title,
    description,
    ...z.toJSONSchema(schema, GENERATOR_OPTIONS),
  }
}

/** JSON Schema (draft 2020-12) of a MessageV2 as accepted on the wire, generated from the zod schema. */
export function messageV2JsonSchema(): Record<string, unknown> {
  return schemaDocument(
    'message-v2',
    'agent-comm MessageV2',
    MessageV2Schema,
    'A message of the agent-comm protocol, version 2.0.',
  )
}

/** JSON Schema (draft 2020-12) of an AgentProfile as accepted on the wire. */
export function agentProfileJsonSchema(): Record<string, unknown> {
  return schemaDocument('agent-profile', 'agent-comm AgentProfile', AgentProfileSchema)
}

/** JSON Schema (draft 2020-12) of the `data` of an `approval_request` payload. */
export function approvalRequestJsonSchema(): Record<string, unknown> {
  return schemaDocument('approval-request', 'agent-comm approval_request payload data', ApprovalRequestSchema)
}

/** JSON Schema (draft 2020-12) of the `data` of an `approval_response` payload. */
export function approvalResponseJsonSchema(): Record<string, unknown> {
  return schemaDocument(
    'approval-response',
    'agent-comm approval_response payload data',
    ApprovalResponseSchema,
  )
}
