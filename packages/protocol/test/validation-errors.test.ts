import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseOrThrow, ValidationError } from '../src/index.js'

function refusal(schema: z.ZodType, value: unknown): ValidationError {
  try {
    parseOrThrow(schema, value, 'request')
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  throw new Error('expected a refusal')
}

describe('validation errors stay small whatever the input', () => {
  it('names the first 10 of 80,000 unknown keys and counts the rest', () => {
    const input = Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`key${i}`, 1]))
    const error = refusal(z.strictObject({}), input)
    expect(error.message).toBe(
      `Invalid request: Unrecognized keys: ${Array.from({ length: 10 }, (_, i) => `"key${i}"`).join(', ')} and 79990 more`,
    )
    expect(JSON.stringify(error.details).length).toBeLessThan(1000)
  })

  it('lists the first 20 issues and counts the rest, and cuts a very long key', () => {
    const error = refusal(
      z.array(z.string()),
      Array.from({ length: 500 }, () => 1),
    )
    expect(error.issues).toHaveLength(21)
    expect(error.issues[20]).toEqual({ path: '(root)', message: 'and 480 more issues' })
    expect(error.message.length).toBeLessThan(2000)
    const long = refusal(z.strictObject({}), { ['k'.repeat(100_000)]: 1, b: 2 })
    expect(long.message.length).toBeLessThan(500)
  })

  it('keeps a short list of unknown keys as zod words it', () => {
    expect(refusal(z.strictObject({}), { a: 1, b: 2 }).message).toBe(
      'Invalid request: Unrecognized keys: "a", "b"',
    )
  })
})
