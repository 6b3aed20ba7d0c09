import { errorMessage, ValidationError } from '@agent-comm/protocol'
import type { FastifyReply, FastifyRequest } from 'fastify'
import secureJsonParse from 'secure-json-parse'
import type { z } from 'zod'
import type { Caller } from './auth.js'

/** Who may call a route: anyone, any authenticated agent, or the admin only. */
export type AuthLevel = 'none' | 'agent' | 'admin'

/** What a route handler gets: validated inputs and, on authenticated routes, the caller. */
export interface RouteContext<P, Q, B> {
  params: P
  query: Q
  body: B
  caller: Caller
  request: FastifyRequest
  reply: FastifyReply
}

/**
 * One endpoint: method, path, who may call it, zod schemas of its inputs and output, and the handler. The
 * same table validates requests, answers them, and generates the OpenAPI document, so the document cannot
 * drift from what the relay does.
 */
export interface RouteDef<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Fastify-style path, e.g. `/api/v1/agents/:agentId/claim`. */
  url: string
  operationId: string
  summary: string
  description?: string
  tag: string
  auth: AuthLevel
  params?: P
  query?: Q
  body?: B
  /** Schema of the success body; absent for `204 No Content` and streams. */
  response?: R
  /** Success status (200, or 204 without `response`). */
  status?: number
  /** A `text/event-stream` response the handler writes itself. */
  stream?: boolean
  /** Error statuses worth documenting besides 400/401/403/429/500. */
  errors?: number[]
  handler(
    ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>,
  ): Promise<z.input<R> | undefined> | z.input<R> | undefined
}

/** Declares a route with its types inferred from its schemas. */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  def: RouteDef<P, Q, B, R>,
): RouteDef {
  return def as unknown as RouteDef
}

/** A route of a group: its tag, auth level and path prefix are the group's (the auth level unless it gives one). */
export type GroupRouteDef<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
> = Omit<RouteDef<P, Q, B, R>, 'tag' | 'auth'> & { auth?: AuthLevel }

/**
 * Declares the routes of one group (`tag`, e.g. `agents`): each gets the group's tag and auth level, and
 * its `url` is taken below `prefix`.
 */
export function routesOf(group: { tag: string; auth: AuthLevel; prefix: string }) {
  return <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
    def: GroupRouteDef<P, Q, B, R>,
  ): RouteDef => route({ tag: group.tag, auth: group.auth, ...def, url: `${group.prefix}${def.url}` })
}

/**
 * The handler of a list endpoint: what `list` finds for the validated query, answered under the list's
 * name (`{ agents: [...] }`).
 */
export function listHandler<K extends string, Q, T>(
  key: K,
  list: (query: Q) => Promise<T[]>,
): (ctx: { query: Q }) => Promise<Record<K, T[]>> {
  return async ({ query }) => ({ [key]: await list(query) }) as Record<K, T[]>
}

/** Parses a raw JSON body safely: `__proto__` and `constructor.prototype` keys are refused, not merged. */
export function parseJsonBody(raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw)
  if (text.trim() === '') return undefined
  try {
    return secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch (error) {
    const reason = errorMessage(error)
    throw new ValidationError(`Invalid request body: not valid JSON (${reason})`, [
      { path: '(root)', message: reason },
    ])
  }
}
