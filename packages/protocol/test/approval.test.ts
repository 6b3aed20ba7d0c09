import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ApprovalRequestSchema, createMessage } from '../src/index.js'
import { approvalRequestJsonSchema, approvalResponseJsonSchema } from '../src/json-schema.js'

const base = { fromAgent: 'deployer', toAgent: 'approval-queue', subject: 'Deploy?', body: 'May I deploy?' }

describe('approval payloads', () => {
  it('fills an approval request with approve / deny and a deny-on-expiry policy', () => {
    expect(ApprovalRequestSchema.parse({ question: 'Deploy v2 to production?' })).toEqual({
      question: 'Deploy v2 to production?',
      options: ['approve', 'deny'],
      onExpiry: 'deny',
    })
  })

  it('accepts a message whose approval request names an action, a deadline and an escalation', () => {
    const message = createMessage({
      ...base,
      payload: {
        type: 'approval_request',
        data: {
          question: 'Drop table users?',
          action: { name: 'sql', arguments: { statement: 'DROP TABLE users' } },
          deadline: '2026-12-01T10:00:00Z',
          onExpiry: { escalateTo: 'cap:human-review' },
        },
      },
    })
    expect(message.payload?.type).toBe('approval_request')
  })

  it('refuses an approval request without a question, naming the field', () => {
    expect(() =>
      createMessage({ ...base, payload: { type: 'approval_request', data: { options: ['yes'] } } }),
    ).toThrow(/payload\.data\.question/)
  })

  it('refuses an approval response without a decision or with an unknown field', () => {
    const response = { decision: 'approve', decidedBy: 'alice', decidedAt: '2026-12-01T10:00:00Z' }
    expect(() =>
      createMessage({
        ...base,
        payload: { type: 'approval_response', data: { decidedBy: 'alice', decidedAt: response.decidedAt } },
      }),
    ).toThrow(/decision/)
    expect(() =>
      createMessage({ ...base, payload: { type: 'approval_response', data: { ...response, sneaky: true } } }),
    ).toThrow(/sneaky/)
    expect(
      createMessage({ ...base, payload: { type: 'approval_response', data: response } }).payload?.data,
    ).toEqual(response)
  })

  it('publishes both JSON Schemas as committed files (run `pnpm gen:schema` after changing them)', () => {
    for (const [file, schema] of [
      ['approval-request.schema.json', approvalRequestJsonSchema()],
      ['approval-response.schema.json', approvalResponseJsonSchema()],
    ] as const) {
      expect(JSON.parse(readFileSync(new URL(`../schema/${file}`, import.meta.url), 'utf8'))).toEqual(schema)
    }
    expect((approvalRequestJsonSchema() as { required: string[] }).required).toEqual(['question'])
  })
})
