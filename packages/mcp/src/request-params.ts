// A request whose params do not fit its method (`tools/call` with `"name": 5`, no params at all) fails in
// the SDK's own parse, which throws a ZodError; the SDK answers any error without a code as -32603 Internal
// error with the error's message, here zod's issue list as raw JSON. Checked first, against the same
// schemas, such a request is answered -32602 Invalid params with a sentence naming the fields. Both
// transports (stdio and HTTP) go through it, since it sits on the server.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { ClientRequestSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js'

type AnyHandler = (request: { method: string; params?: unknown }, extra: unknown) => Promise<unknown>

/** Thrown for params that do not fit: the SDK answers it with its `code` and `message`, as they are. */
class InvalidParamsError extends Error {
  readonly code = ErrorCode.InvalidParams
}

/** The request schema of each method a client may call, from the SDK's union of them. */
const REQUEST_SCHEMAS = new Map(
  ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema] as const),
)

/** At most this many issues are named; the rest are counted. */
const MAX_ISSUES = 5

/**
 * Makes every request handler of `server` registered so far check its request first, answering params
 * that do not fit with -32602 and a readable message. Call it after the last handler is registered.
 */
export function checkRequestParams(server: Server): void {
  const handlers = (server as unknown as { _requestHandlers: Map<string, AnyHandler> })._requestHandlers
  for (const [method, handler] of handlers) {
    const schema = REQUEST_SCHEMAS.get(method)
    if (schema === undefined) continue
    handlers.set(method, async (request, extra) => {
      const parsed = schema.safeParse(request)
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => {
          const path = issue.path.map(String).join('.')
          return `${path === '' ? '(request)' : path}: ${issue.message.replace(/^Invalid input: /, '')}`
        })
        const named = [...new Set(issues)]
        const more = named.length > MAX_ISSUES ? ` (and ${named.length - MAX_ISSUES} more)` : ''
        throw new InvalidParamsError(
          `Invalid params for ${method}: ${named.slice(0, MAX_ISSUES).join('; ')}${more}. ` +
            'Check them against the MCP specification of this method (tools/list names the tools and their arguments).',
        )
      }
      return handler(request, extra)
    })
  }
}
