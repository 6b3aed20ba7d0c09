import { describe, expect, it } from 'vitest'
import { Limits, replyThread, utf8Length } from '../src/index.js'

const original = { id: 'msg_1', subject: 'Build it', routing: { conversationId: 'conv_1' } }

describe('replyThread', () => {
  it('points at the original, keeps its conversation and prefixes its subject with Re:', () => {
    expect(replyThread(original)).toEqual({
      subject: 'Re: Build it',
      routing: { replyTo: 'msg_1', conversationId: 'conv_1' },
    })
  })

  it('never stacks the prefix, whatever its case', () => {
    expect(replyThread({ ...original, subject: 'Re: Build it' }).subject).toBe('Re: Build it')
    expect(replyThread({ ...original, subject: 'RE: Build it' }).subject).toBe('RE: Build it')
  })

  it('cuts the end of a subject the prefix would take over the limit, never inside a character', () => {
    const subject = 'é'.repeat(Limits.subjectMaxBytes / 2)
    const reply = replyThread({ ...original, subject }).subject
    expect(reply).toBe(`Re: ${'é'.repeat(Limits.subjectMaxBytes / 2 - 2)}`)
    expect(utf8Length(reply)).toBe(Limits.subjectMaxBytes)
  })
})
