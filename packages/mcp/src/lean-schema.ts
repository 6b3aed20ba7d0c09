// JSON Schema as clients and strict dialects want it: no `$schema` on every tool, no ±2^53 integer bounds
// (zod's default for `.int()`), and `anyOf: [X, null]` written as a type list, which strict validators
// (and the providers' function-calling dialects) accept where they refuse a nullable union.

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `{anyOf: [{type: 'string', …}, {type: 'null'}]}` → `{type: ['string', 'null'], …}` when that is exact. */
function collapseNullable(node: Json): Json {
  const anyOf = node.anyOf
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return node
  const nullIndex = anyOf.findIndex((branch) => isObject(branch) && branch.type === 'null')
  if (nullIndex === -1) return node
  const other = anyOf[1 - nullIndex]
  if (!isObject(other) || typeof other.type !== 'string' || other.anyOf !== undefined) return node
  const { anyOf: _drop, ...rest } = node
  return { ...rest, ...other, type: [other.type, 'null'] }
}

/** The protocol's marker of a free-form JSON value's limits (depth, size, keys), see `boundedJson`. */
const JSON_LIMITS_KEY = 'x-agent-comm-json-limits'

/**
 * A free-form JSON parameter with its limits said in its description too: models read descriptions, and
 * JSON Schema has no keyword for a total depth, size or key count.
 */
function withJsonLimits(node: Json): Json {
  const limits = node[JSON_LIMITS_KEY]
  if (!isObject(limits) || typeof node.description !== 'string' || node.description.includes('levels')) {
    return node
  }
  const { maxDepth, maxBytes, maxKeys } = limits
  return {
    ...node,
    description: `${node.description}; at most ${maxDepth} levels of nested arrays and objects, ${maxBytes} bytes as compact JSON, ${maxKeys} keys in all`,
  }
}

/**
 * What an output schema does not need: the server produces the values, so checks on them only cost the
 * model's tokens (a date-time regex alone is 300 characters). Types, enums and descriptions stay.
 */
const OUTPUT_CONSTRAINTS = new Set([
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'default',
])

/**
 * A cleaned copy of `schema`. `limits` adds keywords to properties by name (e.g. `subject: {maxLength}`)
 * so the limits the library enforces are visible to the model before it calls. With `output`, value
 * constraints are dropped too (see {@link OUTPUT_CONSTRAINTS}).
 */
export function leanJsonSchema(schema: unknown, limits: Record<string, Json> = {}, output = false): unknown {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit)
    if (!isObject(value)) return value
    const out: Json = {}
    for (const [key, child] of Object.entries(value)) {
      if (key === '$schema') continue
      if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(child as number)) continue
      if (output && OUTPUT_CONSTRAINTS.has(key) && typeof child !== 'object') continue
      // `format: date-time` says it; zod's 300-character regex for it says nothing more to a model.
      if (key === 'pattern' && typeof value.format === 'string') continue
      if (key === 'properties' && isObject(child)) {
        const properties: Json = {}
        for (const [name, property] of Object.entries(child)) {
          const cleaned = visit(property)
          const limit = limits[name]
          properties[name] =
            limit !== undefined && isObject(cleaned) && cleaned.type === 'string'
              ? { ...limit, ...cleaned }
              : cleaned
        }
        out[key] = properties
        continue
      }
      out[key] = visit(child)
    }
    return collapseNullable(output ? out : withJsonLimits(out))
  }
  return visit(schema)
}
