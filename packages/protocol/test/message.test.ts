import { describe, expect, it } from 'vitest'
import {
  ConversationIdSchema,
  createMessage,
  IdGenerator,
  isBroadcast,
  ManualClock,
  MessageV2Schema,
  parseMessage,
  priorityRank,
  ValidationError,
} from '../src/index.js'

const base = { fromAgent: 'architect', toAgent: 'builder', body: 'Implement auth' }

describe('createMessage', () => {
  it('fills id, version, timestamp, priority and routing defaults', () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30, 22))
    const msg = createMessage({ ...base, subject: 'Task: Auth' }, { clock })
    expect(msg.id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(msg.version).toBe('2.0')
    expect(msg.timestamp).toBe('2026-02-03T14:30:22.000Z')
    expect(msg.priority).toBe('normal')
    expect(msg.routing.conversationId).toMatch(/^conv_/)
    expect(msg.routing.ttlHours).toBe(24)
    expect(msg.routing.replyTo).toBeUndefined()
    expect(MessageV2Schema.parse(msg)).toEqual(msg)
  })

  it('keeps a given conversation id and reply-to, so replies stay in their thread', () => {
    const msg = createMessage({
      ...base,
      routing: { conversationId: 'conv_x', replyTo: 'msg_1', ttlHours: 2 },
    })
    expect(msg.routing).toEqual({ conversationId: 'conv_x', replyTo: 'msg_1', ttlHours: 2 })
  })

  it('accepts urgent as an alias of critical', () => {
    expect(createMessage({ ...base, priority: 'urgent' }).priority).toBe('critical')
    expect(parseMessage({ ...createMessage(base), priority: 'urgent' }).priority).toBe('critical')
  })

  it('rejects an unknown priority with the list of valid values', () => {
    expect(() => createMessage({ ...base, priority: 'asap' as 'high' })).toThrow(
      /priority: must be one of critical, high, normal, low/,
    )
  })

  it('rejects an unknown payload type with the list of valid values', () => {
    expect(() => createMessage({ ...base, payload: { type: 'email' as 'text', data: null } })).toThrow(
      /payload\.type: must be one of text, task_assignment, task_result/,
    )
  })

  it('rejects bad agent ids with a message that says why', () => {
    expect(() => createMessage({ ...base, fromAgent: '' })).toThrow(/fromAgent: must not be empty/)
    expect(() => createMessage({ ...base, toAgent: 'a b' })).toThrow(ValidationError)
    expect(() => createMessage({ ...base, fromAgent: 'x'.repeat(129) })).toThrow(/at most 128/)
    expect(() => createMessage({ ...base, fromAgent: 'agent-b@host:1.2_x' })).not.toThrow()
  })

  it('enforces the subject and body size limits in UTF-8 bytes', () => {
    expect(() => createMessage({ ...base, subject: 'é'.repeat(513) })).toThrow(
      /subject: must be at most 1024 bytes/,
    )
    expect(() => createMessage({ ...base, subject: 'é'.repeat(512) })).not.toThrow()
    expect(() => createMessage({ ...base, body: 'x'.repeat(1024 * 1024 + 1) })).toThrow(
      /body: must be at most/,
    )
  })

  it('reports every problem at once, each with its path', () => {
    try {
      createMessage({ fromAgent: '', toAgent: '', body: 3 as unknown as string })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError)
      const paths = (error as ValidationError).issues.map((i) => i.path)
      expect(paths).toEqual(expect.arrayContaining(['fromAgent', 'toAgent', 'body']))
      expect((error as ValidationError).code).toBe('VALIDATION')
    }
  })

  it('treats "*" and broadcast payloads as broadcasts', () => {
    expect(isBroadcast(createMessage({ ...base, toAgent: '*' }))).toBe(true)
    expect(isBroadcast(createMessage({ ...base, payload: { type: 'broadcast', data: 'hi' } }))).toBe(true)
    expect(isBroadcast(createMessage(base))).toBe(false)
  })
})

describe('ids', () => {
  it('never collide and stay sorted when many are made in the same millisecond', () => {
    const clock = new ManualClock(1_700_000_000_000)
    const ids = new IdGenerator(clock)
    const made = Array.from({ length: 10_000 }, () => ids.next('msg'))
    expect(new Set(made).size).toBe(made.length)
    expect([...made].sort()).toEqual(made)
    clock.advance(1)
    const later = ids.next('msg')
    expect(later > made.at(-1)!).toBe(true)
  })

  it('sort by creation time across milliseconds', () => {
    const clock = new ManualClock(1_000)
    const ids = new IdGenerator(clock)
    const a = ids.next('msg')
    clock.advance(5)
    const b = ids.next('msg')
    expect(a < b).toBe(true)
  })
})

describe('priority', () => {
  it('ranks critical first and low last', () => {
    expect(
      ['low', 'critical', 'normal', 'high'].sort(
        (x, y) => priorityRank(x as 'low') - priorityRank(y as 'low'),
      ),
    ).toEqual(['critical', 'high', 'normal', 'low'])
  })
})

describe('ids that would be unsafe as file names', () => {
  it('rejects agent and message ids made of dots only', () => {
    expect(() => createMessage({ fromAgent: '..', toAgent: 'b', body: 'x' })).toThrow(
      /fromAgent: must not be made of dots only/,
    )
    expect(() => createMessage({ fromAgent: 'a', toAgent: '.', body: 'x' })).toThrow(/toAgent/)
    expect(() => createMessage({ id: '..', fromAgent: 'a', toAgent: 'b', body: 'x' })).toThrow(
      /id: must not be made of dots only/,
    )
    expect(() => createMessage({ fromAgent: 'a.b', toAgent: '.hidden', body: 'x' })).not.toThrow()
  })
})

describe('conversation ids', () => {
  const message = createMessage({ fromAgent: 'a', toAgent: 'b', body: 'x' })

  it('follow the character rules of message ids: NUL, ESC, spaces and dots only are refused', () => {
    for (const bad of [
      'conv\u0000x',
      'conv\u001b]0;pwned\u0007',
      'two words',
      'a/b',
      '..',
      '',
      'c'.repeat(129),
    ]) {
      expect(() =>
        createMessage({ fromAgent: 'a', toAgent: 'b', body: 'x', routing: { conversationId: bad } }),
      ).toThrow(/routing\.conversationId: /)
      expect(() =>
        parseMessage({ ...message, routing: { ...message.routing, conversationId: bad } }),
      ).toThrow(/routing\.conversationId: /)
    }
    expect(() =>
      createMessage({ fromAgent: 'a', toAgent: 'b', body: 'x', routing: { conversationId: '\u001b[2J' } }),
    ).toThrow(/may contain only letters, digits and \. _ : @ -/)
  })

  it('accept minted ids and client-chosen ids of safe characters', () => {
    expect(ConversationIdSchema.parse(message.routing.conversationId)).toMatch(/^conv_/)
    expect(ConversationIdSchema.parse('thread:auth@2026-01.x_1')).toBe('thread:auth@2026-01.x_1')
    expect(ConversationIdSchema.parse('c'.repeat(128))).toHaveLength(128)
  })
})

describe('createLineLogger', () => {
  it('writes one line per entry at or above its level, with fields as JSON', async () => {
    const { createLineLogger } = await import('../src/index.js')
    const lines: string[] = []
    const log = createLineLogger({ level: 'info', write: (line) => lines.push(line), prefix: '[x]' })
    log.debug({}, 'hidden')
    log.info({}, 'started')
    log.error({ code: 'E' }, 'failed')
    expect(lines).toEqual(['[x] [info] started\n', '[x] [error] failed {"code":"E"}\n'])
  })
})
