import { toValidationError } from '@agent-comm/protocol'
import type { FastifySchemaCompiler, FastifyTypeProvider } from 'fastify'
import type { z } from 'zod'

/**
 * Fastify's type provider for zod schemas: a route whose `schema.body` (or `params`, `querystring`) is a zod
 * schema sees `request.body` typed as that schema's output.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown
}

/** How an error names each part of the request: `Invalid request body: limit: …`. */
const PART_NAMES: Record<string, string> = {
  body: 'request body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
}

/**
 * Validates a request part with its zod schema during fastify's validation phase, replacing the part with
 * the parsed value (defaults applied, strings coerced). A failure is the protocol's `ValidationError`,
 * which names the part and each issue's path, and which the relay's error handler answers with 400.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const what = PART_NAMES[httpPart ?? ''] ?? String(httpPart)
  return (data: unknown) => {
    // Fastify hands an absent body over as null; a body-less POST means "no options".
    const value = httpPart === 'body' && (data === null || data === undefined) ? {} : data
    const result = schema.safeParse(value)
    return result.success ? { value: result.data } : { error: toValidationError(result.error, what) }
  }
}
