import { describe, expect, it } from 'vitest'
import {
  AgentProfileSchema,
  ApprovalResponseSchema,
  createMessage,
  NackOptionsSchema,
  parseOrThrow,
  ValidationError,
} from '../src/index.js'

const base = { fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' }

/** The ValidationError `run` throws. */
function validationErrorOf(run: () => unknown): ValidationError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  return expect.unreachable('no error was thrown')
}

const NUL_ISSUE =
  'must not contain NUL characters (U+0000): remove them, or encode binary data (e.g. as base64)'

describe('NUL characters in free text', () => {
  it('are refused in a message body and subject, naming each field and saying what to do', () => {
    const error = validationErrorOf(() => createMessage({ ...base, subject: 'a\u0000b', body: 'c\u0000' }))
    expect(error.code).toBe('VALIDATION')
    expect(error.issues).toEqual([
      { path: 'subject', message: NUL_ISSUE },
      { path: 'body', message: NUL_ISSUE },
    ])
    expect(error.message).toBe(`Invalid message: subject: ${NUL_ISSUE}; body: ${NUL_ISSUE}`)
    // NUL inside JSON is kept: payload data and metadata are stored as JSON text, which escapes it.
    const message = createMessage({
      ...base,
      payload: { type: 'text', data: { raw: 'a\u0000b' } },
      metadata: { note: '\u0000' },
    })
    expect(message.payload?.data).toEqual({ raw: 'a\u0000b' })
    expect(message.metadata).toEqual({ note: '\u0000' })
  })

  it('are refused in a nack reason, an agent device and an approval comment', () => {
    expect(() => parseOrThrow(NackOptionsSchema, { reason: 'bad\u0000input' }, 'nack')).toThrow(
      `reason: ${NUL_ISSUE}`,
    )
    expect(() =>
      parseOrThrow(AgentProfileSchema, { agentId: 'builder', device: 'lap\u0000top' }, 'agent profile'),
    ).toThrow(`device: ${NUL_ISSUE}`)
    const response = { decision: 'approve', decidedBy: 'lead', decidedAt: '2026-02-03T14:30:00.000Z' }
    expect(() =>
      parseOrThrow(ApprovalResponseSchema, { ...response, comment: 'ok\u0000' }, 'approval'),
    ).toThrow(`comment: ${NUL_ISSUE}`)
  })
})

describe('validation errors', () => {
  it('report an oversized body once, not once per check of its size', () => {
    const error = validationErrorOf(() => createMessage({ ...base, body: 'x'.repeat(1024 * 1024 + 1) }))
    expect(error.message).toBe('Invalid message: body: must be at most 1048576 bytes (1 MiB)')
    expect(error.issues).toEqual([{ path: 'body', message: 'must be at most 1048576 bytes (1 MiB)' }])
  })

  it('report an oversized subject once', () => {
    const error = validationErrorOf(() => createMessage({ ...base, subject: 's'.repeat(1025) }))
    expect(error.issues).toEqual([{ path: 'subject', message: 'must be at most 1024 bytes' }])
  })

  it('carry a hint naming the fields to change', () => {
    const error = validationErrorOf(() => createMessage({ ...base, fromAgent: '', body: 'x\u0000' }))
    expect(error.hint).toBe('Change fromAgent, body as the error says and try again.')
    expect(error.toJSON().hint).toBe(error.hint)
    // A hint the thrower gave is kept.
    const own = new ValidationError('Invalid x', [{ path: 'x', message: 'bad' }], { hint: 'Use y.' })
    expect(own.hint).toBe('Use y.')
  })

  it('carry a hint about the whole input when the issue is at its root', () => {
    const error = validationErrorOf(() => createMessage(42 as never))
    expect(error.hint).toBe('Change the input as the error says and try again.')
  })
})
