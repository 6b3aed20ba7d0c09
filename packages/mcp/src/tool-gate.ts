// What stands between the SDK and the tool modules: which tools a session offers (profiles), the agent a
// call acts as (identity), unknown keys refused, argument errors in our own shape, and `tools/list`
// without schema noise. Applied once per server, so every tool module (including ones added later)
// gets it without knowing.
import { Limits, MAX_NACK_REASON_LENGTH, ValidationError } from '@agent-comm/protocol'
import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolRequest, CallToolResult, ListToolsResult } from '@modelcontextprotocol/sdk/types.js'
import { type ZodRawShape, type ZodType, z } from 'zod'
import type { SessionIdentity } from './identity.js'
import { leanJsonSchema } from './lean-schema.js'
import type { ActingParameter, ToolContext } from './tool-kit.js'
import { toolError } from './tool-result.js'

type Handler = (request: CallToolRequest, extra: unknown) => Promise<unknown>

interface SdkInternals {
  _requestHandlers: Map<string, Handler>
}

/** How `tools/list` describes the limits the library enforces, keyed by parameter name. */
export const PARAMETER_LIMITS: Record<string, Record<string, unknown>> = {
  subject: { maxLength: Limits.subjectMaxBytes },
  body: { maxLength: Limits.bodyMaxBytes },
  reason: { maxLength: MAX_NACK_REASON_LENGTH },
}

/**
 * Installs the gate on `server` before any tool is registered: `registerTool` then drops tools outside
 * `offered`, makes acting parameters optional for a bound session and resolves them on each call, and
 * refuses unknown keys. Call {@link finishToolGate} after the last tool is registered.
 */
export function installToolGate(
  server: McpServer,
  context: ToolContext,
  identity: SessionIdentity,
  offered: (name: string) => boolean,
): Map<string, ZodType> {
  const schemas = new Map<string, ZodType>()
  const register = server.registerTool.bind(server)
  const gated = (
    name: string,
    {
      actsAs,
      ...config
    }: { inputSchema?: ZodRawShape; actsAs?: ActingParameter | null } & Record<string, unknown>,
    callback: (args: Record<string, unknown>, extra: unknown) => Promise<CallToolResult>,
  ): RegisteredTool => {
    if (actsAs === undefined) throw new Error(`Tool ${name} says nothing of the agent it acts as (actsAs)`)
    const acting = actsAs ?? undefined
    const shape = { ...(config.inputSchema ?? {}) } as Record<string, ZodType>
    if (acting !== undefined && shape[acting.parameter] !== undefined) {
      const field = shape[acting.parameter] as ZodType
      // Bound, the session's agent is the default. Unbound, a missing agent is reported by actingAs with
      // our own error; the schema still says the parameter is needed.
      if (identity.agent !== undefined) {
        shape[acting.parameter] = (field instanceof z.ZodOptional ? field : field.optional()).describe(
          `defaults to this session's agent '${identity.agent}'; no other agent is accepted`,
        )
      }
    }
    const strict = z.strictObject(shape)
    schemas.set(name, strict)
    const wrapped = async (args: Record<string, unknown>, extra: unknown): Promise<CallToolResult> => {
      if (acting !== undefined) {
        try {
          const given = args[acting.parameter] as string | undefined
          if (!(acting.derived === true && given === undefined && identity.agent === undefined)) {
            args = {
              ...args,
              [acting.parameter]: await identity.actingAs(given, acting.parameter, name, acting.registered),
            }
          }
        } catch (error) {
          return toolError(error, name, context.logger)
        }
      }
      return callback(args, extra)
    }
    const tool = (register as unknown as (n: string, c: unknown, cb: unknown) => RegisteredTool)(
      name,
      { ...config, inputSchema: strict },
      wrapped,
    )
    if (!offered(name)) {
      tool.remove()
      schemas.delete(name)
    }
    return tool
  }
  server.registerTool = gated as unknown as typeof server.registerTool
  return schemas
}

/** Maps zod issue paths on tool arguments to a {@link ValidationError} naming the parameters. */
function argumentError(tool: string, error: z.ZodError): ValidationError {
  const issues = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return {
        path: issue.keys.join(', '),
        message: `unknown parameter${issue.keys.length === 1 ? '' : 's'} of ${tool} (check the spelling against tools/list)`,
      }
    }
    return { path: issue.path.length === 0 ? '(root)' : issue.path.join('.'), message: issue.message }
  })
  return new ValidationError(
    `Invalid arguments for ${tool}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  )
}

/**
 * After the last `registerTool`: `tools/call` validates arguments first and answers a failure as our
 * own `VALIDATION` error (text and `_meta`), and `tools/list` serves lean schemas.
 */
export function finishToolGate(server: McpServer, context: ToolContext, schemas: Map<string, ZodType>): void {
  const handlers = (server.server as unknown as SdkInternals)._requestHandlers
  const list = handlers.get('tools/list')
  const call = handlers.get('tools/call')
  if (list === undefined || call === undefined) return
  let cached: ListToolsResult | undefined
  handlers.set('tools/list', async (request, extra) => {
    // The tool set of a session does not change after start-up, so the cleaned list is built once.
    cached ??= leanToolsList((await list(request, extra)) as ListToolsResult)
    return cached
  })
  handlers.set('tools/call', async (request, extra) => {
    const schema = schemas.get(request.params.name)
    if (schema !== undefined) {
      const parsed = schema.safeParse(request.params.arguments ?? {})
      if (!parsed.success) {
        return toolError(
          argumentError(request.params.name, parsed.error),
          request.params.name,
          context.logger,
        )
      }
    }
    // A server answers initialize and tools/list before its database is open; calls wait for it. One that
    // could not open answers each call with why, as a tool error: the server stays up.
    try {
      await context.ready
    } catch (error) {
      return toolError(error, request.params.name, context.logger)
    }
    await context.started?.()
    return call(request, extra)
  })
}

function leanToolsList(result: ListToolsResult): ListToolsResult {
  return {
    ...result,
    tools: result.tools.map((tool) => ({
      ...tool,
      inputSchema: leanJsonSchema(tool.inputSchema, PARAMETER_LIMITS) as typeof tool.inputSchema,
      outputSchema:
        tool.outputSchema === undefined
          ? undefined
          : (leanJsonSchema(tool.outputSchema, {}, true) as typeof tool.outputSchema),
    })),
  }
}
