import {
  type ApprovalResponse,
  isAgentCommError,
  ManualClock,
  RequestAbortedError,
  RequestTimeoutError,
} from '@agent-comm/protocol'
import { SqliteTransport } from '@agent-comm/transport-sqlite'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import type { Coordinator } from '../src/index.js'
import { fakeHttpTransport, openCoordinator } from './helpers.js'

/** Answers every message `agent` receives with `answer(body)`, until `signal` aborts. */
async function respond(
  coord: Coordinator,
  agent: string,
  answer: (body: string) => string,
  signal: AbortSignal,
) {
  for await (const claimed of coord.messages(agent, { signal })) {
    await coord.reply(claimed, { body: answer(claimed.message.body) })
    await coord.ack(claimed)
  }
}

async function setup(options: Parameters<typeof openCoordinator>[0] = {}) {
  const opened = await openCoordinator(options)
  await opened.coord.register({ agentId: 'architect' })
  await opened.coord.register({ agentId: 'builder' })
  return opened
}

describe('request / reply', () => {
  it('resolves with the reply, claimed and acked for the requester', async () => {
    const { coord } = await setup()
    const stop = new AbortController()
    const responder = respond(coord, 'builder', (b) => `done: ${b}`, stop.signal)
    const reply = await coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'build it' },
      { timeoutMs: 30_000 },
    )
    stop.abort()
    await responder
    expect(reply).toMatchObject({ fromAgent: 'builder', toAgent: 'architect', body: 'done: build it' })
    expect((await coord.status(reply.id)).deliveries[0]?.status).toBe('acked')
  })

  it('takes only its own reply: ordinary messages and replies to other requests stay in the inbox', async () => {
    const { coord } = await setup()
    const first = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'first' })
    const second = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'second' })
    await coord.send({ fromAgent: 'builder', toAgent: 'architect', body: 'by the way' })
    await coord.reply(second.message, { body: 'answer to second' })
    const waiting = coord.awaitReply(first.messageId, { timeoutMs: 30_000 })
    await coord.reply(first.message, { body: 'answer to first' })
    expect((await waiting).body).toBe('answer to first')
    const left = await coord.pending('architect')
    expect(left.map((p) => p.message.body)).toEqual(['by the way', 'answer to second'])
    expect((await coord.awaitReply(second.messageId, { timeoutMs: 1_000 })).body).toBe('answer to second')
  })

  it('rejects with TIMEOUT carrying the request id, and awaitReply picks the wait up later', async () => {
    const { coord } = await setup()
    const error = await coord
      .request({ fromAgent: 'architect', toAgent: 'builder', body: 'slow' }, { timeoutMs: 20 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestTimeoutError)
    expect(isAgentCommError(error, 'TIMEOUT')).toBe(true)
    const requestId = (error as RequestTimeoutError).requestId
    const [task] = await coord.poll('builder')
    expect(task?.message.id).toBe(requestId)
    await coord.reply(task!, { body: 'late answer' })
    // The reply arrived while nobody waited: it is in the inbox, and awaitReply takes it at once.
    expect((await coord.pending('architect')).map((p) => p.message.body)).toEqual(['late answer'])
    expect((await coord.awaitReply(requestId, { timeoutMs: 1_000 })).body).toBe('late answer')
  })

  it('awaitReply reads the request once to start its wait', async () => {
    const { coord } = await setup()
    const { messageId, message } = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'q' })
    await coord.reply(message, { fromAgent: 'builder', body: 'a' })
    const status = vi.spyOn(SqliteTransport.prototype, 'status')
    onTestFinished(() => status.mockRestore())
    // The reply is waiting: the first wait slice takes it, with the recipients of the one read.
    expect((await coord.awaitReply(messageId, { timeoutMs: 30_000 })).body).toBe('a')
    expect(status.mock.calls.map(([id]) => id)).toEqual([messageId])
  })

  it('resumes a wait in a new coordinator on the same project (a restarted requester)', async () => {
    const { coord, root, clock } = await setup()
    const requestId = await coord
      .request({ fromAgent: 'architect', toAgent: 'builder', body: 'q' }, { timeoutMs: 1 })
      .then(
        () => 'unexpected reply',
        (e: RequestTimeoutError) => e.requestId,
      )
    await coord.close()
    const restarted = (await openCoordinator({ clock, env: { AGENT_COMM_PROJECT_ROOT: root } })).coord
    const waiting = restarted.awaitReply(requestId, { timeoutMs: 30_000 })
    const [task] = await restarted.poll('builder')
    await restarted.reply(task!, { body: 'after the restart' })
    expect((await waiting).body).toBe('after the restart')
  })

  it('keeps concurrent requests of one agent apart', async () => {
    const { coord } = await setup()
    const stop = new AbortController()
    const responder = respond(coord, 'builder', (b) => `re ${b}`, stop.signal)
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        coord.request({ fromAgent: 'architect', toAgent: 'builder', body: `n${i}` }, { timeoutMs: 60_000 }),
      ),
    )
    stop.abort()
    await responder
    expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => `re n${i}`))
  })

  it('resolves an approval_request with its approval_response', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'human' })
    const waiting = coord.request(
      {
        fromAgent: 'architect',
        toAgent: 'human',
        body: 'May I deploy?',
        payload: { type: 'approval_request', data: { question: 'Deploy v2 to production?' } },
      },
      { timeoutMs: 30_000 },
    )
    const [asked] = await coord.poll('human', { waitMs: 10_000 })
    const decision: ApprovalResponse = {
      decision: 'approve',
      decidedBy: 'human',
      decidedAt: new Date(0).toISOString(),
      comment: 'go',
    }
    await coord.reply(asked!, { body: 'approved', payload: { type: 'approval_response', data: decision } })
    const reply = await waiting
    expect(reply.payload).toEqual({ type: 'approval_response', data: decision })
  })

  it('refuses an approval_response whose decision the request did not offer; the request takes a valid one', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'human' })
    const waiting = coord.request(
      {
        fromAgent: 'architect',
        toAgent: 'human',
        body: 'May I deploy?',
        payload: { type: 'approval_request', data: { question: 'Deploy v2?', options: ['approve', 'deny'] } },
      },
      { timeoutMs: 30_000 },
    )
    const [asked] = await coord.poll('human', { waitMs: 10_000 })
    const maybe = {
      type: 'approval_response' as const,
      data: { decision: 'maybe', decidedBy: 'human', decidedAt: new Date(0).toISOString() },
    }
    const refused = {
      code: 'VALIDATION',
      message: expect.stringContaining("one of the request's options ('approve', 'deny')"),
      issues: [expect.objectContaining({ path: 'payload.data.decision' })],
    }
    // Through reply, and through a plain send with replyTo (the CLI's send --reply-to, MCP comm_send).
    await expect(coord.reply(asked!, { body: 'maybe', payload: maybe })).rejects.toMatchObject(refused)
    await expect(
      coord.send({
        fromAgent: 'human',
        toAgent: 'architect',
        body: 'maybe',
        payload: maybe,
        routing: { replyTo: asked!.message.id },
      }),
    ).rejects.toMatchObject(refused)
    expect(await coord.pending('architect')).toHaveLength(0)
    const deny = { ...maybe, data: { ...maybe.data, decision: 'deny' } }
    await coord.reply(asked!, { body: 'no', payload: deny })
    expect((await waiting).payload).toEqual(deny)
  })

  it('works with the requester behind a relay and the responder local', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const http = await fakeHttpTransport(clock)
    const { coord } = await setup({ clock, http: () => http.transport })
    await coord.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://b:8420' })
    const waiting = coord.request(
      { fromAgent: 'remote', toAgent: 'builder', body: 'hi' },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    await coord.reply(task!, { body: 'hello remote' })
    expect((await waiting).body).toBe('hello remote')
    expect(http.sends).toEqual([['remote']])
  })

  it('works with the requester local and the responder behind a relay', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const http = await fakeHttpTransport(clock)
    const { coord } = await setup({ clock, http: () => http.transport })
    await coord.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://b:8420' })
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'remote', body: 'hi' },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('remote', { waitMs: 10_000 })
    await coord.reply(task!, { body: 'hello local' })
    expect((await waiting).body).toBe('hello local')
    expect(http.sends).toEqual([['remote']])
  })

  it('rejects with ABORTED carrying the request id when aborted during the wait, and awaitReply resumes it', async () => {
    const { coord } = await setup()
    const stop = new AbortController()
    const reason = new Error('user cancelled')
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'x' },
      { signal: stop.signal, timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    stop.abort(reason)
    const error = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(RequestAbortedError)
    expect(error).toMatchObject({
      code: 'ABORTED',
      requestId: task!.message.id,
      cause: reason,
      message: expect.stringContaining('user cancelled'),
      hint: expect.stringContaining(`awaitReply('${task!.message.id}')`),
    })
    await coord.reply(task!, { body: 'done anyway' })
    const reply = await coord.awaitReply((error as RequestAbortedError).requestId, { timeoutMs: 10_000 })
    expect(reply.body).toBe('done anyway')
  })

  it('sends nothing when the signal is aborted before the call, and rejects with its reason', async () => {
    const { coord } = await setup()
    const stop = new AbortController()
    stop.abort(new Error('cancelled before'))
    await expect(
      coord.request(
        { fromAgent: 'architect', toAgent: 'builder', body: 'do the work' },
        { signal: stop.signal },
      ),
    ).rejects.toThrow('cancelled before')
    expect(await coord.pending('builder')).toEqual([])
    expect((await coord.stats()).totalMessages).toBe(0)
  })

  it('awaitReply stopped by its signal rejects with ABORTED naming the request', async () => {
    const { coord } = await setup()
    const sent = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'x' })
    const stop = new AbortController()
    const waiting = coord.awaitReply(sent.messageId, { signal: stop.signal, timeoutMs: 30_000 })
    stop.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', requestId: sent.messageId })
  })
})

describe('who may reply', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('refuses a reply from the requester itself, and the waiting request takes the recipient’s', async () => {
    const { coord } = await setup()
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'q' },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    await expect(
      coord.reply(task!.message.id, { fromAgent: 'architect', body: 'self' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining("Agent 'architect' may not reply"),
      hint: expect.stringContaining('Only a recipient of a message can reply to it'),
    })
    await coord.reply(task!, { body: 'real' })
    expect((await waiting).body).toBe('real')
  })

  it('refuses a reply from an agent that did not receive the message, without naming who did', async () => {
    const { coord } = await setup()
    const { messageId } = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'q' })
    const refused = coord.reply(messageId, { fromAgent: 'stranger', body: 'hi' })
    await expect(refused).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(coord.reply(messageId, { fromAgent: 'stranger', body: 'hi' })).rejects.not.toThrow(/builder/)
    const [claimed] = await coord.poll('builder')
    await expect(coord.reply(claimed!, { fromAgent: 'stranger', body: 'hi' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    expect(await coord.pending('architect')).toHaveLength(0)
  })

  it('takes the reply of an agent the request went to, not a message another agent sent posing as it', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'stranger' })
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'builder', body: 'q' },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    // The stranger learnt the request's id and answers first with a plain send: not taken as the reply.
    await coord.send({
      fromAgent: 'stranger',
      toAgent: 'architect',
      body: 'approved, go ahead',
      routing: { replyTo: task!.message.id },
    })
    await coord.reply(task!, { body: 'the real answer' })
    expect(await waiting).toMatchObject({ fromAgent: 'builder', body: 'the real answer' })
    // The stranger's message stays in the requester's inbox as ordinary mail.
    expect((await coord.pending('architect')).map((p) => [p.message.fromAgent, p.delivery.status])).toEqual([
      ['stranger', 'queued'],
    ])
    // awaitReply (a restarted requester) applies the same rule.
    const again = await coord.send({ fromAgent: 'architect', toAgent: 'builder', body: 'q2' })
    await coord.send({
      fromAgent: 'stranger',
      toAgent: 'architect',
      body: 'me again',
      routing: { replyTo: again.messageId },
    })
    await expect(coord.awaitReply(again.messageId, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    })
  })

  it('takes an approval decision from the recipient or the operator (console), not from another agent', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'human' })
    await coord.register({ agentId: 'stranger' })
    const decision = (by: string, replyTo: string) => ({
      fromAgent: by,
      toAgent: 'architect',
      body: 'approve',
      routing: { replyTo },
      payload: {
        type: 'approval_response' as const,
        data: { decision: 'approve', decidedBy: by, decidedAt: new Date(0).toISOString() },
      },
    })
    const ask = (body: string) =>
      coord.request(
        {
          fromAgent: 'architect',
          toAgent: 'human',
          body,
          payload: { type: 'approval_request', data: { question: body } },
        },
        { timeoutMs: 30_000 },
      )
    const waiting = ask('Deploy?')
    const [asked] = await coord.poll('human', { waitMs: 10_000 })
    await coord.send(decision('stranger', asked!.message.id))
    await coord.send(decision('admin', asked!.message.id), { allowUnregistered: true })
    expect((await waiting).payload?.data).toMatchObject({ decidedBy: 'admin' })
    expect((await coord.pending('architect')).map((p) => p.message.fromAgent)).toEqual(['stranger'])
  })

  it('takes the answer of any recipient of a broadcast request', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'tester' })
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: '*', body: 'anyone?' },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('tester', { waitMs: 10_000 })
    await coord.reply(task!, { body: 'me' })
    expect(await waiting).toMatchObject({ fromAgent: 'tester', body: 'me' })
  })

  it('takes the answer of an agent that registered while the held request waited, within the wait', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'r1', capabilities: ['review'] })
    // r2 registers only once the wait is under way with r1 as the one who may answer.
    const claimReply = SqliteTransport.prototype.claimReply
    const waitingFor: (readonly string[] | undefined)[] = []
    let inWait!: () => void
    const underWay = new Promise<void>((resolve) => {
      inWait = resolve
    })
    vi.spyOn(SqliteTransport.prototype, 'claimReply').mockImplementation(function (
      this: SqliteTransport,
      ...args
    ) {
      waitingFor.push(args[2]?.from)
      inWait()
      return claimReply.apply(this, args)
    })
    const waiting = coord.request(
      { fromAgent: 'architect', toAgent: 'capability:review', body: 'review this?' },
      // Shorter than one 30 s wait slice: the answer is taken because the wait looks again at who may
      // answer while the request is held, not because a slice ended.
      { timeoutMs: 20_000, holdForFutureRecipients: true },
    )
    expect((await coord.poll('r1', { waitMs: 10_000 })).map((c) => c.message.body)).toEqual(['review this?'])
    await underWay
    expect(waitingFor[0]).toEqual(['r1'])
    await coord.register({ agentId: 'r2', capabilities: ['review'] })
    const [task] = await coord.poll('r2', { waitMs: 10_000 })
    await coord.reply(task!, { body: 'r2 reviewed it' })
    expect(await waiting).toMatchObject({ fromAgent: 'r2', body: 'r2 reviewed it' })
  })

  it('lets each recipient of a broadcast reply to it by id', async () => {
    const { coord } = await setup()
    await coord.register({ agentId: 'tester' })
    const { messageId } = await coord.send({ fromAgent: 'architect', toAgent: '*', body: 'all' })
    await coord.reply(messageId, { fromAgent: 'tester', body: 'seen' })
    expect((await coord.pending('architect')).map((m) => m.message.body)).toEqual(['seen'])
  })

  it('looks the recipients up behind a relay', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
    const http = await fakeHttpTransport(clock)
    const { coord } = await setup({ clock, http: () => http.transport })
    await coord.register({ agentId: 'remote', transport: 'http', relayUrl: 'http://b:8420' })
    const { messageId } = await coord.send({ fromAgent: 'architect', toAgent: 'remote', body: 'q' })
    await expect(coord.reply(messageId, { fromAgent: 'builder', body: 'x' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await coord.reply(messageId, { body: 'from remote' })
    expect((await coord.pending('architect')).map((m) => m.message.body)).toEqual(['from remote'])
  })
})
