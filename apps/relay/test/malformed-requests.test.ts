import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay, T0 } from './helpers.js'

const clock = { now: () => T0 }
const valid = () =>
  createMessage({ fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Go' }, { clock })

interface Case {
  name: string
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  /** A JSON value, or a raw string sent as is. */
  body?: unknown
  raw?: string
  contentType?: string
  status: number
  code: string
  /** The zod issue path the error must name. */
  issuePath?: string
}

const send = '/api/v1/messages'
const claim = '/api/v1/agents/builder/claim'

const CASES: Case[] = [
  {
    name: 'bad JSON',
    path: send,
    raw: '{"message": {',
    status: 400,
    code: 'VALIDATION',
    issuePath: '(root)',
  },
  { name: 'a JSON array instead of an object', path: send, raw: '[1,2]', status: 400, code: 'VALIDATION' },
  {
    name: 'an empty body where one is required',
    path: send,
    raw: '',
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message',
  },
  {
    name: 'a missing message',
    path: send,
    body: { recipients: ['builder'] },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message',
  },
  {
    name: 'a missing field of the message',
    path: send,
    body: { message: { ...valid(), body: undefined } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.body',
  },
  {
    name: 'a wrong type',
    path: send,
    body: { message: { ...valid(), body: 42 } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.body',
  },
  {
    name: 'a subject over 1 KiB',
    path: send,
    body: { message: { ...valid(), subject: 's'.repeat(1025) } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.subject',
  },
  {
    name: 'a unicode subject over 1 KiB in bytes though not in characters',
    path: send,
    body: { message: { ...valid(), subject: '語'.repeat(400) } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.subject',
  },
  {
    name: 'an invalid message id',
    path: send,
    body: { message: { ...valid(), id: 'msg with spaces/and/slashes' } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.id',
  },
  {
    name: 'a unicode agent id',
    path: send,
    body: { message: { ...valid(), toAgent: 'büilder' } },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'message.toAgent',
  },
  {
    name: 'an unknown field',
    path: send,
    body: { message: valid(), sneaky: true },
    status: 400,
    code: 'VALIDATION',
  },
  {
    name: 'a prototype-polluting key',
    path: send,
    raw: `{"message": ${JSON.stringify(valid())}, "__proto__": {"admin": true}}`,
    status: 400,
    code: 'VALIDATION',
  },
  {
    name: 'a negative limit',
    path: claim,
    body: { limit: -1 },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'limit',
  },
  {
    name: 'a limit of 1000',
    path: claim,
    body: { limit: 1000 },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'limit',
  },
  {
    name: 'a fractional limit',
    path: claim,
    body: { limit: 2.5 },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'limit',
  },
  {
    name: 'a limit as a string',
    path: claim,
    body: { limit: '10' },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'limit',
  },
  {
    name: 'a wait over 30 s',
    path: claim,
    body: { waitMs: 60_000 },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'waitMs',
  },
  {
    name: 'a negative lease',
    path: claim,
    body: { leaseSeconds: -5 },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'leaseSeconds',
  },
  {
    name: 'a malformed wait query',
    method: 'GET',
    path: '/api/v1/agents/builder/wait?timeoutMs=soon',
    status: 400,
    code: 'VALIDATION',
    issuePath: 'timeoutMs',
  },
  {
    name: 'a repeated query parameter',
    method: 'GET',
    path: '/api/v1/agents/builder/wait?timeoutMs=1&timeoutMs=2',
    status: 400,
    code: 'VALIDATION',
  },
  {
    name: 'an invalid agent id in the path',
    path: '/api/v1/agents/b%C3%BCilder%20x/claim',
    body: {},
    status: 400,
    code: 'VALIDATION',
    issuePath: 'agentId',
  },
  {
    name: 'an invalid message id in the path',
    method: 'GET',
    path: '/api/v1/messages/a%20b',
    status: 400,
    code: 'VALIDATION',
    issuePath: 'messageId',
  },
  {
    name: 'a body that is not JSON',
    path: send,
    raw: 'hello',
    contentType: 'text/plain',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'an empty batch',
    path: '/api/v1/messages/batch',
    body: { items: [] },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'items',
  },
  {
    name: 'a batch with one bad message among good ones',
    path: '/api/v1/messages/batch',
    body: { items: [{ message: valid() }, { message: { ...valid(), priority: 'whenever' } }] },
    status: 400,
    code: 'VALIDATION',
    issuePath: 'items.1.message.priority',
  },
  {
    name: 'an unknown endpoint',
    method: 'GET',
    path: '/api/v1/nothing-here',
    status: 404,
    code: 'NOT_FOUND',
  },
]

describe('malformed requests', () => {
  it.each(CASES)('answers $name with $status $code and changes nothing', async (c) => {
    const relay = await startTestRelay({ listen: false })
    await relay.spool.send(valid())
    const before = JSON.stringify([await relay.spool.stats(), await relay.registry.list()])
    const res = await relay.signed(
      'architect',
      c.method ?? 'POST',
      c.path,
      c.raw ?? c.body,
      c.contentType === undefined ? {} : { contentType: c.contentType },
    )
    expect(res.statusCode).toBe(c.status)
    const error = errorOf(res)
    expect(error.code).toBe(c.code)
    expect(error.message).toEqual(expect.any(String))
    if (c.issuePath !== undefined) {
      const issues = (error.details as { issues: { path: string }[] }).issues
      expect(issues.map((i) => i.path)).toContain(c.issuePath)
    }
    expect(JSON.stringify([await relay.spool.stats(), await relay.registry.list()])).toBe(before)
  })

  it('accepts unicode where the protocol allows it', async () => {
    const relay = await startTestRelay({ listen: false })
    const message = { ...valid(), subject: 'Réunion 会議 🚀', body: 'Zürich → 東京 ✓ \u2028 tab\t' }
    const res = await relay.signed('architect', 'POST', '/api/v1/messages', { message })
    expect(res.statusCode).toBe(200)
    const [claimed] = await relay.spool.claim('builder')
    expect(claimed?.message).toMatchObject({ subject: message.subject, body: message.body })
  })
})

describe('query numbers out of bounds', () => {
  it.each(['-1', '0', '1001'])(
    'answers limit=%s with the bound it breaks, not "must be a whole number"',
    async (limit) => {
      const relay = await startTestRelay({ listen: false })
      const res = await relay.signed('architect', 'GET', `/api/v1/conversations?limit=${limit}`)
      expect(res.statusCode).toBe(400)
      expect(errorOf(res).message).toMatch(/limit: must be at (least 1|most \d+)/)
      expect(errorOf(res).message).not.toMatch(/whole number/)
    },
  )

  it('still says "must be a whole number" for a fraction or a word', async () => {
    const relay = await startTestRelay({ listen: false })
    for (const limit of ['1.5', 'ten', '--1']) {
      const res = await relay.signed('architect', 'GET', `/api/v1/conversations?limit=${limit}`)
      expect(res.statusCode).toBe(400)
      expect(errorOf(res).message).toMatch(/limit: must be a whole number/)
    }
  })
})
