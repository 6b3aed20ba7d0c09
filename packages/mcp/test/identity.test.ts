import { join } from 'node:path'
import { silentLogger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { openRelaySecrets } from '../src/index.js'
import { type Claimed, connect, fails, ok, openCoordinator, tempDir } from './helpers.js'

describe('one identity per session', () => {
  it('registers the bound agent on connect and makes it the default sender and poller', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: ['plan'] })
    const builder = await connect(coordinator, { agent: 'builder' })
    const architect = await connect(coordinator, { agent: 'architect' })
    // The session registers its agent itself: no comm_register_agent needed.
    const session = await ok<{ agentId: string; waiting: { total: number } }>(builder, 'comm_start_session')
    expect(session.agentId).toBe('builder')
    expect(await coordinator.agent('builder')).toBeDefined()

    const sent = await ok<{ messageId: string }>(architect, 'comm_send', { to_agent: 'builder', body: 'go' })
    const polled = await ok<{ messages: Claimed[] }>(builder, 'comm_poll')
    expect(polled.messages[0]!.message.id).toBe(sent.messageId)
    expect(polled.messages[0]!.message.fromAgent).toBe('architect')
    await ok(builder, 'comm_ack', { message_id: sent.messageId, receipt: polled.messages[0]!.lease.receipt })
    await ok(builder, 'comm_reply', { message_id: sent.messageId, body: 'done' })
    const back = await ok<{ messages: Claimed[] }>(architect, 'comm_poll')
    expect(back.messages[0]!.message.fromAgent).toBe('builder')
  })

  it('refuses a reply to a message the bound agent did not receive', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    await coordinator.register({ agentId: 'boss', capabilities: [] })
    const { messageId } = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'boss',
      body: 'for boss',
    })
    const evil = await connect(coordinator, { agent: 'evil' })
    const error = await fails(evil, 'comm_reply', { message_id: messageId, body: 'approved' })
    expect(error).toMatch(/^FORBIDDEN: Agent 'evil' may not reply to message/)
    expect(error).toContain('Only a recipient of a message can reply to it')
    expect(await coordinator.pending('architect')).toHaveLength(0)
  })

  it('does not thread a comm_send into a message the bound agent never saw, nor reveal its conversation', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    await coordinator.register({ agentId: 'boss', capabilities: [] })
    const secret = await coordinator.send({ fromAgent: 'architect', toAgent: 'boss', body: 'for boss' })
    const evil = await connect(coordinator, { agent: 'evil' })
    const error = await fails(evil, 'comm_send', {
      to_agent: 'architect',
      body: 'me too',
      reply_to: secret.messageId,
    })
    expect(error).toMatch(/^MESSAGE_NOT_FOUND/)
    expect(error).not.toContain(secret.message.routing.conversationId)
    expect(await coordinator.pending('architect')).toHaveLength(0)
  })

  it('refuses to send, reply, poll, ack or nack as another agent', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    const client = await connect(coordinator, { agent: 'builder' })
    const attempts: [string, Record<string, unknown>][] = [
      ['comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'x' }],
      ['comm_reply', { from_agent: 'architect', message_id: 'msg_01J0000000000000000000000', body: 'x' }],
      ['comm_poll', { agent_id: 'architect' }],
      ['comm_ack', { agent_id: 'architect', message_id: 'msg_01J0000000000000000000000' }],
      ['comm_nack', { agent_id: 'architect', message_id: 'msg_01J0000000000000000000000', reason: 'r' }],
    ]
    for (const [tool, args] of attempts) {
      const result = await client.callTool({ name: tool, arguments: args })
      expect(result.isError, tool).toBe(true)
      const text = (result.content as { text: string }[])[0]!.text
      expect(text, tool).toMatch(/^FORBIDDEN: This session acts as 'builder'/)
      expect(text, tool).toContain('--allow-any-agent')
      expect(result._meta?.['agent-comm/error']).toMatchObject({ code: 'FORBIDDEN' })
    }
  })

  it('refuses to register, deregister or make a relay secret for another agent, and does its own', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: ['plan'] })
    const relaySecrets = await openRelaySecrets(join(tempDir(), 'relay'), silentLogger)
    const client = await connect(coordinator, {
      agent: 'builder',
      relaySecrets,
      relaySecretOutputDir: tempDir(),
    })
    // Each would take the other agent's mail: a profile pointing at another inbox or relay, its removal, or
    // a relay secret to sign as it with.
    const attempts: [string, Record<string, unknown>][] = [
      ['comm_register_agent', { agent_id: 'architect', transport: 'file', inbox_dir: tempDir() }],
      ['comm_deregister', { agent_id: 'architect' }],
      ['comm_relay_gen_secret', { agent_id: 'architect' }],
    ]
    for (const [tool, args] of attempts) {
      expect(await fails(client, tool, args), tool).toMatch(/^FORBIDDEN: This session acts as 'builder'/)
    }
    expect(await coordinator.agent('architect')).toMatchObject({
      transport: 'sqlite',
      capabilities: ['plan'],
    })
    expect(await relaySecrets.list()).toEqual([])
    // Its own profile and secret, with agent_id left out.
    await ok(client, 'comm_register_agent', { capabilities: ['code'] })
    expect(await coordinator.agent('builder')).toMatchObject({ capabilities: ['code'] })
    await ok(client, 'comm_relay_gen_secret', {})
    expect((await relaySecrets.list()).map((s) => s.agentId)).toEqual(['builder'])
  })

  it('reads only what its agent sent or received: threads, search, status and inboxes', async () => {
    const coordinator = await openCoordinator()
    for (const agentId of ['architect', 'builder', 'reviewer']) await coordinator.register({ agentId })
    const mine = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'build the parser',
    })
    const theirs = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'reviewer',
      body: 'review the parser',
    })
    const everyone = await coordinator.send({
      fromAgent: 'reviewer',
      toAgent: '*',
      body: 'parser standup at 10',
    })
    const builder = await connect(coordinator, { agent: 'builder' })
    const ids = (messages: { id: string }[]) => messages.map((m) => m.id).sort()

    const found = await ok<{ messages: { id: string }[] }>(builder, 'comm_search', { text: 'parser' })
    expect(ids(found.messages)).toEqual([mine.messageId, everyone.messageId].sort())
    expect(await fails(builder, 'comm_message_status', { message_id: theirs.messageId })).toMatch(
      /^MESSAGE_NOT_FOUND/,
    )
    await ok(builder, 'comm_message_status', { message_id: everyone.messageId })
    expect(await fails(builder, 'comm_get_conversation', { message_id: theirs.messageId })).toMatch(
      /^MESSAGE_NOT_FOUND/,
    )
    const theirThread = (await coordinator.status(theirs.messageId)).message.routing.conversationId
    const read = await ok<{ total: number }>(builder, 'comm_get_conversation', {
      conversation_id: theirThread,
    })
    expect(read.total).toBe(0)
    const threads = await ok<{ conversations: { conversationId: string }[] }>(
      builder,
      'comm_list_conversations',
    )
    expect(threads.conversations.map((c) => c.conversationId)).not.toContain(theirThread)
    expect(threads.conversations).toHaveLength(2)
    await expect(builder.readResource({ uri: 'agent-comm://inbox/reviewer' })).rejects.toThrow(
      /acts as 'builder': the inbox of 'reviewer' is not its to read/,
    )
    await expect(builder.subscribeResource({ uri: 'agent-comm://inbox/reviewer' })).rejects.toThrow(
      /the inbox of 'reviewer' is not its to read/,
    )
    await builder.subscribeResource({ uri: 'agent-comm://inbox/builder' })
    await builder.readResource({ uri: 'agent-comm://inbox/builder' })
    const listed = await builder.listResources()
    expect(listed.resources.map((r) => r.uri)).toContain('agent-comm://inbox/builder')
    expect(listed.resources.map((r) => r.uri)).not.toContain('agent-comm://inbox/reviewer')

    // An operator-started session, like an unbound one, reads everything.
    const operator = await connect(coordinator, { agent: 'builder', allowOtherAgents: true })
    const all = await ok<{ messages: { id: string }[] }>(operator, 'comm_search', { text: 'parser' })
    expect(all.messages).toHaveLength(3)
  })

  it('lets an operator-started session act as others it names', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    const client = await connect(coordinator, { agent: 'builder', allowOtherAgents: true })
    await ok(client, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'x' })
  })

  it('without --agent, refuses an unregistered sender and asks for the agent parameter', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const client = await connect(coordinator)
    expect(await fails(client, 'comm_send', { from_agent: 'ghost', to_agent: 'builder', body: 'x' })).toMatch(
      /^AGENT_NOT_FOUND: Agent 'ghost'/,
    )
    expect(await fails(client, 'comm_poll', {})).toMatch(/agent_id/)
  })

  it('digests the inbox at session start: counts by priority, oldest waiting, threads awaiting a reply', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'architect', capabilities: [] })
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const first = await coordinator.send({
      fromAgent: 'architect',
      toAgent: 'builder',
      body: 'a',
      subject: 'one',
      priority: 'high',
    })
    await coordinator.send({ fromAgent: 'architect', toAgent: 'builder', body: 'b', priority: 'low' })
    const client = await connect(coordinator, { agent: 'builder' })
    const digest = await ok<{
      waiting: Record<string, number>
      oldestWaiting: { messageId: string }
      awaitingReply: { messageId: string }[]
      cursor: string
    }>(client, 'comm_start_session')
    expect(digest.waiting).toEqual({ total: 2, critical: 0, high: 1, normal: 0, low: 1 })
    expect(digest.oldestWaiting.messageId).toBe(first.messageId)
    expect(digest.awaitingReply).toHaveLength(2)
    expect(digest.cursor).toBeDefined()
  })
})
