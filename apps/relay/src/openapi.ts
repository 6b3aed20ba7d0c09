import { AUTH_SCHEME, DEFAULT_AUTH_WINDOW_MS, ErrorResponseSchema } from '@agent-comm/transport-http'
import { z } from 'zod'
import type { RouteDef } from './route-table.js'

type JsonSchema = Record<string, unknown>

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema
  return rest
}

/** The properties of an object schema, for path and query parameters. */
function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (schema === undefined) return []
  const json = jsonSchema(schema, 'input')
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((json.required ?? []) as string[])
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    description: typeof property.description === 'string' ? property.description : undefined,
    schema: property,
  }))
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (VALIDATION, with each issue and its path in details.issues)',
  401: 'Not authenticated (UNAUTHENTICATED, AUTH_TIMESTAMP)',
  403: 'Authenticated, but not allowed (FORBIDDEN)',
  404: 'No such message, delivery or agent (MESSAGE_NOT_FOUND, DELIVERY_NOT_FOUND, AGENT_NOT_FOUND)',
  409: 'Conflict with the delivery state (LEASE_LOST, INVALID_STATE) or a replayed request (AUTH_REPLAY)',
  413: 'Body larger than the relay accepts (PAYLOAD_TOO_LARGE), or a send creating more deliveries than maxDeliveriesPerRequest (VALIDATION)',
  415: 'Body is not application/json (UNSUPPORTED_MEDIA_TYPE)',
  429: "Over this agent's rate limit — a request costs one unit, a send one per delivery (RATE_LIMITED); see Retry-After",
  500: 'The relay failed (INTERNAL); details in its log under the request id',
  503: 'Shutting down or database unavailable (UNAVAILABLE); retry',
}

/**
 * The OpenAPI 3.1 document of the relay's API, generated from the route table's zod schemas (JSON Schema
 * 2020-12, which OpenAPI 3.1 uses as is). Served as JSON, which leaves out the undefined keys.
 */
export function openApiDocument(routes: readonly RouteDef[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const def of routes) {
    const path = def.url.replace(/:([A-Za-z]+)/g, '{$1}')
    const errorStatuses = new Set([
      ...(def.auth === 'none' ? [] : [400, 401, 403, 409, 429]),
      ...(def.body === undefined ? [] : [400, 413, 415]),
      ...(def.errors ?? []),
      500,
    ])
    const status = def.status ?? (def.response === undefined && !def.stream ? 204 : 200)
    const success: JsonSchema = def.stream
      ? {
          description:
            'A text/event-stream: one `message` event per claimed message (data: a ClaimedMessage as JSON, id: the message id), `:` comment lines as keep-alives',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        }
      : def.response === undefined
        ? { description: 'Done' }
        : {
            description: 'Success',
            content: { 'application/json': { schema: jsonSchema(def.response, 'output') } },
          }
    const responses: Record<string, JsonSchema> = { [String(status)]: success }
    for (const code of [...errorStatuses].sort()) {
      responses[String(code)] = {
        description: ERROR_DESCRIPTIONS[code] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      }
    }
    paths[path] ??= {}
    paths[path][def.method.toLowerCase()] = {
      operationId: def.operationId,
      summary: def.summary,
      description: def.description,
      tags: [def.tag],
      security: def.auth === 'none' ? [] : [{ agentId: [], timestamp: [], nonce: [], signature: [] }],
      parameters: [...parameters(def.params, 'path'), ...parameters(def.query, 'query')],
      requestBody:
        def.body === undefined
          ? undefined
          : { required: true, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } },
      responses,
    }
  }
  // Served beside the API rather than under it, for Prometheus; not in the route table as it answers text.
  paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'Requests by route and status, request latency histograms, authentication failures by reason, open event streams, and deliveries per status read from the spool when scraped.',
      tags: ['system'],
      security: [],
      parameters: [],
      responses: {
        '200': {
          description: 'The Prometheus text exposition format, version 0.0.4',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  }
  const header = (name: string, description: string): JsonSchema => ({
    type: 'apiKey',
    in: 'header',
    name,
    description,
  })
  return {
    openapi: '3.1.0',
    info: {
      title: 'agent-comm relay',
      version: info.version,
      description: [
        'Reliable messaging between AI agents across machines: the agent-comm spool behind an authenticated HTTP API.',
        '',
        `Authentication (${AUTH_SCHEME}): every request except health, metrics and this document carries the four headers below.`,
        "X-Signature is the hex HMAC-SHA256, keyed with the agent's secret, of these lines joined by \\n:",
        `\`${AUTH_SCHEME}\`, the method, the path with its query exactly as sent, X-Timestamp, X-Nonce, X-Agent-ID, and the hex SHA-256 of the body (of the empty string when there is none).`,
        `Timestamps more than ${DEFAULT_AUTH_WINDOW_MS / 60_000} minutes (by default) from the relay's clock are refused, and so is a nonce seen before.`,
      ].join('\n'),
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorResponseSchema, 'output') },
      securitySchemes: {
        agentId: header('X-Agent-ID', 'The agent the request acts for.'),
        timestamp: header('X-Timestamp', 'Milliseconds since the Unix epoch when the request was signed.'),
        nonce: header(
          'X-Nonce',
          '16–128 base64url characters never used before by this agent (128 random bits).',
        ),
        signature: header(
          'X-Signature',
          'Hex HMAC-SHA256 of the canonical request (see the description above).',
        ),
      },
    },
  }
}
