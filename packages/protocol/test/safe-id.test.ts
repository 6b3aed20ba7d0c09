import { describe, expect, it } from 'vitest'
import {
  AgentIdSchema,
  ConversationIdSchema,
  isAgentId,
  isSafeId,
  Limits,
  MessageIdSchema,
  newMessageId,
} from '../src/index.js'

// isSafeId stands in for a parse of MessageIdSchema on the claim path (packages/spool's rows.ts): it must
// accept exactly what the schemas accept.
const values: unknown[] = [
  newMessageId(),
  'msg_01HZX',
  'a',
  'a.b:c@d-e_f',
  'x'.repeat(Limits.idMaxLength),
  'x'.repeat(Limits.idMaxLength + 1),
  '',
  '.',
  '..',
  '...',
  '.a',
  'a b',
  'a/b',
  'a\u0000b',
  'a\nb',
  'a\u001bb',
  'é',
  'a\n',
  42,
  null,
  undefined,
  ['a'],
]

describe('isSafeId', () => {
  it('accepts exactly the ids MessageIdSchema and ConversationIdSchema accept', () => {
    for (const value of values) {
      expect(isSafeId(value), JSON.stringify(value)).toBe(MessageIdSchema.safeParse(value).success)
      expect(isSafeId(value), JSON.stringify(value)).toBe(ConversationIdSchema.safeParse(value).success)
    }
    expect(values.filter((v) => isSafeId(v))).toHaveLength(6)
  })
})

describe('isAgentId', () => {
  it('accepts exactly the ids AgentIdSchema accepts', () => {
    for (const value of [
      ...values,
      'x'.repeat(Limits.agentIdMaxLength),
      'x'.repeat(Limits.agentIdMaxLength + 1),
    ]) {
      expect(isAgentId(value), JSON.stringify(value)).toBe(AgentIdSchema.safeParse(value).success)
    }
    expect(isAgentId('builder')).toBe(true)
    expect(isAgentId('..')).toBe(false)
  })
})
