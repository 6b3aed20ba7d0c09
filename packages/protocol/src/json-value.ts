import { z } from 'zod'
import { boundedJson } from './json-limits.js'
import { lazySchema } from './lazy-schema.js'

// One instance for both schemas below, so the generated JSON Schema defines the JSON type once.
const AnyJsonSchema = lazySchema(() => z.json())

/**
 * Any JSON value within the protocol's JSON limits (`Limits.jsonMaxDepth`, `jsonMaxBytes`, `jsonMaxKeys`),
 * which are checked before the value is walked recursively.
 */
export const JsonValueSchema = lazySchema(() => boundedJson(AnyJsonSchema))

/** A JSON value. */
export type JsonValue = z.infer<typeof JsonValueSchema>

/** A JSON object within the protocol's JSON limits, used for metadata. */
export const JsonObjectSchema = lazySchema(() => boundedJson(z.record(z.string(), AnyJsonSchema)))

/** A JSON object. */
export type JsonObject = z.infer<typeof JsonObjectSchema>
