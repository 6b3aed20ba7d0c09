import { describe, expect, it } from 'vitest'
import {
  AgentProfileSchema,
  checkJsonLimits,
  createMessage,
  type JsonObject,
  JsonObjectSchema,
  type JsonValue,
  JsonValueSchema,
  Limits,
  parseMessage,
  ValidationError,
} from '../src/index.js'

const base = { fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' }

/** `levels` objects nested in each other: `{"a":{"a":…{}}}`. */
function nestedObjects(levels: number): JsonObject {
  let value: JsonObject = {}
  for (let i = 1; i < levels; i++) value = { a: value }
  return value
}

/** `levels` arrays nested in each other: `[[…[]]]`. */
function nestedArrays(levels: number): JsonValue[] {
  let value: JsonValue[] = []
  for (let i = 1; i < levels; i++) value = [value]
  return value
}

/** Bytes of a value as compact JSON, the size the limit counts. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8')

function validationError(run: () => unknown): ValidationError {
  try {
    run()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('expected a ValidationError')
}

describe('JSON nesting depth limit', () => {
  it('accepts metadata and payload data exactly 64 levels deep', () => {
    expect(Limits.jsonMaxDepth).toBe(64)
    const message = createMessage({
      ...base,
      metadata: nestedObjects(64),
      payload: { type: 'context_share', data: nestedArrays(64) },
    })
    expect(parseMessage(JSON.parse(JSON.stringify(message)))).toEqual(message)
  })

  it('refuses metadata 65 levels deep with a validation error naming the limit', () => {
    const error = validationError(() => createMessage({ ...base, metadata: nestedObjects(65) }))
    expect(error.code).toBe('VALIDATION')
    expect(error.issues).toEqual([{ path: 'metadata', message: expect.stringContaining('jsonMaxDepth') }])
    expect(error.message).toMatch(/metadata: is nested more than 64 levels deep/)
  })

  it('refuses payload data 65 levels deep', () => {
    const error = validationError(() =>
      createMessage({ ...base, payload: { type: 'text', data: nestedArrays(65) } }),
    )
    expect(error.issues).toEqual([{ path: 'payload.data', message: expect.stringContaining('jsonMaxDepth') }])
  })

  it('refuses 3,000 and 100,000 levels with a validation error, never a stack overflow', () => {
    for (const levels of [3_000, 100_000]) {
      const wire = { ...createMessage(base), metadata: nestedObjects(levels) }
      expect(validationError(() => parseMessage(wire)).issues[0]?.path).toBe('metadata')
      const data = JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`)
      expect(JsonValueSchema.safeParse(data).success).toBe(false)
    }
  })

  it('stops at a cycle built in memory instead of walking it forever', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    expect(checkJsonLimits(cyclic)?.limit).toBe('jsonMaxDepth')
    expect(JsonObjectSchema.safeParse(cyclic).success).toBe(false)
  })

  it('applies to agent profile metadata too', () => {
    const profile = { agentId: 'builder' }
    expect(AgentProfileSchema.safeParse({ ...profile, metadata: nestedObjects(64) }).success).toBe(true)
    const result = AgentProfileSchema.safeParse({ ...profile, metadata: nestedObjects(65) })
    expect(result.error?.issues[0]?.message).toMatch(/jsonMaxDepth/)
  })
})

describe('JSON size limit', () => {
  /** An object whose compact JSON is exactly `bytes` long, with escaped and multi-byte characters in it. */
  function objectOfSize(bytes: number): JsonObject {
    const value = { 'clé "1"': ['é\n', 12.5, true, null], text: '' }
    value.text = 'x'.repeat(bytes - jsonBytes(value))
    expect(jsonBytes(value)).toBe(bytes)
    return value
  }

  it('accepts a value of exactly 1 MiB as compact JSON', () => {
    expect(Limits.jsonMaxBytes).toBe(1024 * 1024)
    expect(checkJsonLimits(objectOfSize(Limits.jsonMaxBytes))).toBeUndefined()
    expect(JsonObjectSchema.safeParse(objectOfSize(Limits.jsonMaxBytes)).success).toBe(true)
  })

  it('refuses a value one byte larger, naming the limit', () => {
    const value = objectOfSize(Limits.jsonMaxBytes + 1)
    expect(checkJsonLimits(value)?.limit).toBe('jsonMaxBytes')
    const error = validationError(() => createMessage({ ...base, payload: { type: 'text', data: value } }))
    expect(error.issues).toEqual([{ path: 'payload.data', message: expect.stringContaining('jsonMaxBytes') }])
  })

  it('counts every string as JSON.stringify writes it, escapes and multi-byte characters included', () => {
    for (const special of ['plain', 'é', '\u2028', '\u007f', '😀', '\ud800', '"', '\\', '\u0000\n']) {
      const value: JsonObject = { [special]: special }
      value[special] = special + 'x'.repeat(Limits.jsonMaxBytes - jsonBytes(value))
      expect(jsonBytes(value)).toBe(Limits.jsonMaxBytes)
      expect(checkJsonLimits(value)).toBeUndefined()
      value[special] = `${value[special]}x`
      expect(checkJsonLimits(value)?.limit).toBe('jsonMaxBytes')
    }
  })

  it('counts a long array by its commas before visiting its items', () => {
    expect(checkJsonLimits(new Array(Limits.jsonMaxBytes))?.limit).toBe('jsonMaxBytes')
  })
})

describe('JSON key limit', () => {
  /** `count` keys in all, spread over a top-level object and one nested object. */
  function withKeys(count: number): JsonObject {
    const inner: Record<string, number> = {}
    for (let i = 0; i < count - 1; i++) inner[`k${i}`] = i
    return { inner }
  }

  it('accepts 10,000 object keys in all', () => {
    expect(Limits.jsonMaxKeys).toBe(10_000)
    expect(checkJsonLimits(withKeys(Limits.jsonMaxKeys))).toBeUndefined()
    expect(createMessage({ ...base, metadata: withKeys(Limits.jsonMaxKeys) }).metadata).toBeDefined()
  })

  it('refuses 10,001, naming the limit', () => {
    expect(checkJsonLimits(withKeys(Limits.jsonMaxKeys + 1))?.limit).toBe('jsonMaxKeys')
    const error = validationError(() =>
      createMessage({ ...base, metadata: withKeys(Limits.jsonMaxKeys + 1) }),
    )
    expect(error.issues).toEqual([{ path: 'metadata', message: expect.stringContaining('jsonMaxKeys') }])
  })
})

describe('ordinary JSON', () => {
  it('passes through unchanged, scalars and nulls included', () => {
    const metadata = { project: 'auth', tags: ['a', 'b'], nested: { n: 1.5, ok: false, none: null } }
    const message = createMessage({ ...base, metadata, payload: { type: 'task_result', data: 'done' } })
    expect(message.metadata).toEqual(metadata)
    expect(parseMessage(JSON.parse(JSON.stringify(message)))).toEqual(message)
    expect(createMessage({ ...base, payload: { type: 'text' } }).payload).toEqual({
      type: 'text',
      data: null,
    })
  })

  it('still refuses values JSON cannot hold', () => {
    expect(JsonValueSchema.safeParse({ when: new Date(0) }).success).toBe(false)
    expect(JsonValueSchema.safeParse(Number.NaN).success).toBe(false)
    expect(JsonObjectSchema.safeParse([1]).success).toBe(false)
  })
})
