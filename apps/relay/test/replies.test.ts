import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { createMessage, EXPIRY_DECIDER, IdGenerator } from '@agent-comm/protocol'
import { HttpTransport } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { errorOf, onCleanup, startTestRelay, tempDir } from './helpers.js'

describe('claiming the reply to a request', () => {
  it('with `from`, takes only a reply sent by one of those agents, leaving a stranger’s message queued', async () => {
    const relay = await startTestRelay()
    const ids = new IdGenerator(relay.clock)
    const make = (fromAgent: string, toAgent: string, body: string, replyTo?: string) =>
      createMessage(
        { fromAgent, toAgent, body, ...(replyTo === undefined ? {} : { routing: { replyTo } }) },
        { clock: relay.clock, ids },
      )
    const request = make('architect', 'builder', 'review this')
    await relay.client.send(request)
    // "reviewer" learnt the request's id and answers first, in builder's place.
    await relay.client.send(make('reviewer', 'architect', 'approved', request.id))
    expect(await relay.client.claimReply('architect', request.id, { from: ['builder'] })).toBeUndefined()
    await relay.client.send(make('builder', 'architect', 'two remarks', request.id))
    const reply = await relay.client.claimReply('architect', request.id, { from: ['builder'] })
    expect(reply?.message).toMatchObject({ fromAgent: 'builder', body: 'two remarks' })
    const left = await relay.client.claim('architect')
    expect(left.map((c) => c.message.fromAgent)).toEqual(['reviewer'])
  })

  it('takes the decision of its operator (admin id) when the wait says it awaits an approval (`operator`)', async () => {
    const relay = await startTestRelay({ options: { admin: { agentId: 'ops', secrets: [] } } })
    const ids = new IdGenerator(relay.clock)
    const request = createMessage(
      {
        fromAgent: 'architect',
        toAgent: 'builder',
        body: 'Deploy?',
        payload: { type: 'approval_request', data: { question: 'Deploy?' } },
      },
      { clock: relay.clock, ids },
    )
    await relay.client.send(request)
    const decision = createMessage(
      {
        fromAgent: 'ops',
        toAgent: 'architect',
        body: 'approve',
        routing: { replyTo: request.id },
        payload: {
          type: 'approval_response',
          data: { decision: 'approve', decidedBy: 'ops', decidedAt: new Date(0).toISOString() },
        },
      },
      { clock: relay.clock, ids },
    )
    await relay.spool.send(decision)
    // An ordinary wait does not take the operator's message, nor one that says it is no approval wait.
    expect(await relay.client.claimReply('architect', request.id, { from: ['builder'] })).toBeUndefined()
    expect(
      await relay.client.claimReply('architect', request.id, {
        from: ['builder', EXPIRY_DECIDER],
        operator: false,
      }),
    ).toBeUndefined()
    // A client older than the flag names the expiry decider, which only approval waits do: still taken.
    const taken = await relay.client.claimReply('architect', request.id, {
      from: ['builder', EXPIRY_DECIDER],
    })
    expect(taken?.message).toMatchObject({ fromAgent: 'ops' })
  })

  it("resolves an approval request over HTTP with its operator's decision, ignoring a third agent's forged one", async () => {
    const relay = await startTestRelay({
      agents: ['architect', 'builder', 'mallory'],
      options: { admin: { agentId: 'ops', secrets: [] } },
    })
    const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: tempDir() }), {
      clock: relay.clock,
      http: () =>
        new HttpTransport({ baseUrl: relay.url, secretFor: (a) => relay.secrets[a], clock: relay.clock }),
    })
    onCleanup(() => coord.close())
    await coord.register({ agentId: 'architect', transport: 'http', relayUrl: relay.url })
    await coord.register({ agentId: 'builder', transport: 'http', relayUrl: relay.url })
    const waiting = coord.request(
      {
        fromAgent: 'architect',
        toAgent: 'builder',
        body: 'Deploy?',
        payload: { type: 'approval_request', data: { question: 'Deploy?' } },
      },
      { timeoutMs: 30_000 },
    )
    const [task] = await coord.poll('builder', { waitMs: 10_000 })
    const requestId = task!.message.id
    const decision = (fromAgent: string, decision: string) =>
      createMessage(
        {
          fromAgent,
          toAgent: 'architect',
          body: decision,
          routing: { replyTo: requestId },
          payload: {
            type: 'approval_response',
            data: { decision, decidedBy: fromAgent, decidedAt: new Date(0).toISOString() },
          },
        },
        { clock: relay.clock },
      )
    // 'mallory' learnt the request's id and answers first; the operator decides in the console after.
    await relay.client.send(decision('mallory', 'approve'))
    await relay.spool.send(decision('ops', 'deny'))
    expect(await waiting).toMatchObject({ fromAgent: 'ops', payload: { data: { decision: 'deny' } } })
    const left = await relay.client.claim('architect')
    expect(left.map((c) => c.message.fromAgent)).toEqual(['mallory'])
  })

  it('refuses an empty or invalid `from` with VALIDATION', async () => {
    const relay = await startTestRelay({ listen: false })
    for (const from of [[], ['not an id'], 'builder']) {
      const response = await relay.signed('architect', 'POST', '/api/v1/agents/architect/replies/m-1/claim', {
        from,
      })
      expect(response.statusCode).toBe(400)
      expect(errorOf(response)).toMatchObject({ code: 'VALIDATION' })
    }
  })
})

describe('waiting again for a reply after a restart, the request held by the relay', () => {
  it('finds the request on the relay from a fresh process (which has signed as nobody yet) and takes the reply', async () => {
    const relay = await startTestRelay({ agents: ['architect', 'builder'] })
    await relay.registry.register({ agentId: 'builder' })
    const root = tempDir()
    // Each process builds fresh transports with no identity, as the MCP server and library users do.
    const open = async () => {
      const coord = await createCoordinator(loadConfig({ AGENT_COMM_PROJECT_ROOT: root }), {
        clock: relay.clock,
        http: () =>
          new HttpTransport({ baseUrl: relay.url, secretFor: (a) => relay.secrets[a], clock: relay.clock }),
      })
      onCleanup(() => coord.close())
      return coord
    }
    const first = await open()
    await first.register({ agentId: 'architect' })
    await first.register({ agentId: 'builder', transport: 'http', relayUrl: relay.url })
    const requestId = await first
      .request({ fromAgent: 'architect', toAgent: 'builder', body: 'q' }, { timeoutMs: 1 })
      .then(
        () => 'unexpected reply',
        (error: { requestId?: string }) => error.requestId,
      )
    const [task] = await first.poll('builder')
    await first.reply(task!, { body: 'the answer' })
    await first.close()

    // With the requester named, and without: the relay is asked as the requester, or as the remote agent.
    const restarted = await open()
    expect((await restarted.awaitReply(requestId!, { requester: 'architect', timeoutMs: 30_000 })).body).toBe(
      'the answer',
    )
    const again = await open()
    const second = await again.send({ fromAgent: 'architect', toAgent: 'builder', body: 'q2' })
    await again.close()
    const third = await open()
    const waiting = third.awaitReply(second.messageId, { timeoutMs: 30_000 })
    const [task2] = await third.poll('builder', { waitMs: 10_000 })
    await third.reply(task2!, { body: 'second answer' })
    expect((await waiting).body).toBe('second answer')
  })
})
