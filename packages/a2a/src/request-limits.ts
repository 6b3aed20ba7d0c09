import { checkJsonLimits, Limits } from '@agent-comm/protocol'

/**
 * Levels of a JSON-RPC request above its deepest free-form value (`params.message.parts[i].data`: the
 * request, params, message, parts, the part), with room to spare: a request nested deeper than
 * `Limits.jsonMaxDepth` plus these holds a free-form value over the limit, or nests where no value may.
 */
const ENVELOPE_DEPTH = 8

/** The deepest a JSON-RPC request may nest, in levels of arrays and objects. */
export const REQUEST_MAX_DEPTH = Limits.jsonMaxDepth + ENVELOPE_DEPTH

/**
 * What is wrong with a parsed JSON-RPC request's JSON, or undefined: nesting deeper than
 * {@link REQUEST_MAX_DEPTH} anywhere, or a free-form value (the message's and each part's `metadata`, a
 * part's `data`, the request's `metadata`) over the protocol's JSON limits (`checkJsonLimits`: depth,
 * size, keys). Checked before the SDK decodes the request, which recurses into whatever it is given.
 */
export function requestJsonProblem(body: unknown): string | undefined {
  // The free-form values first (checkJsonLimits never recurses either): their answer names the value.
  for (const [path, value] of freeFormValues(body)) {
    const breach = checkJsonLimits(value)
    if (breach !== undefined) return `${path} ${breach.message}`
  }
  if (nestsDeeper(body, REQUEST_MAX_DEPTH)) {
    return `The request is nested more than ${REQUEST_MAX_DEPTH} levels deep (free-form JSON such as metadata or a data part may nest at most ${Limits.jsonMaxDepth} levels)`
  }
  return undefined
}

/** The free-form values of a request, as A2A 1.0 JSON, with their paths. */
function freeFormValues(body: unknown): [string, unknown][] {
  const params = field(body, 'params')
  const message = field(params, 'message')
  const values: [string, unknown][] = [
    ['params.metadata', field(params, 'metadata')],
    ['params.message.metadata', field(message, 'metadata')],
  ]
  const parts = field(message, 'parts')
  if (Array.isArray(parts)) {
    parts.forEach((part, i) => {
      values.push([`params.message.parts[${i}].data`, field(part, 'data')])
      values.push([`params.message.parts[${i}].metadata`, field(part, 'metadata')])
    })
  }
  return values.filter(([, value]) => value !== undefined)
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined
}

/** Whether `value` nests arrays and objects more than `max` levels deep (`{}` is 1), without recursing. */
function nestsDeeper(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [current, depth] = next
    if (typeof current !== 'object' || current === null) continue
    if (depth > max) return true
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}
