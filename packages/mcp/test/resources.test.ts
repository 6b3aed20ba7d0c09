import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { conversationUri, inboxAgentOf, inboxUri } from '../src/index.js'
import { type Claimed, connect, ok, openCoordinator } from './helpers.js'

async function readJson<T>(client: Client, uri: string): Promise<T> {
  const result = await client.readResource({ uri })
  const [content] = result.contents
  expect(content).toMatchObject({ uri, mimeType: 'application/json' })
  return JSON.parse((content as { text: string }).text) as T
}

interface Inbox {
  agentId: string
  registered: boolean
  count: number
  messages: { message: { id: string; body: string }; delivery: { status: string } }[]
  note: string
}

/** Resolves with the URIs of `notifications/resources/updated` as they arrive. */
function updates(client: Client): { next(): Promise<string>; received: string[] } {
  const received: string[] = []
  const waiting: ((uri: string) => void)[] = []
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    const resolve = waiting.shift()
    if (resolve === undefined) received.push(notification.params.uri)
    else resolve(notification.params.uri)
  })
  return {
    received,
    next: () => {
      const queued = received.shift()
      return queued === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(queued)
    },
  }
}

async function twoAgents(options: { inboxCheckIntervalMs?: number } = {}) {
  const coordinator = await openCoordinator()
  const alice = await connect(coordinator, options)
  const bob = await connect(coordinator, options)
  await ok(alice, 'comm_register_agent', { agent_id: 'architect' })
  await ok(alice, 'comm_register_agent', { agent_id: 'builder' })
  return { coordinator, alice, bob }
}

describe('inbox resource', () => {
  it('peeks at the waiting messages without claiming them', async () => {
    const { alice, bob } = await twoAgents()
    await ok(alice, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'later',
      priority: 'low',
    })
    await ok(alice, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'now',
      priority: 'high',
    })

    const inbox = await readJson<Inbox>(bob, 'agent-comm://inbox/builder')
    expect(inbox).toMatchObject({ agentId: 'builder', registered: true, count: 2 })
    expect(inbox.messages.map((m) => [m.message.body, m.delivery.status])).toEqual([
      ['now', 'queued'],
      ['later', 'queued'],
    ])
    expect(inbox.note).toContain('comm_poll')

    // Reading claimed nothing: both messages are still there to poll.
    const polled = await ok<{ messages: Claimed[] }>(bob, 'comm_poll', { agent_id: 'builder', limit: 1 })
    expect(polled.messages[0]!.message.body).toBe('now')
    const after = await readJson<Inbox>(bob, 'agent-comm://inbox/builder')
    expect(after.messages.map((m) => [m.message.body, m.delivery.status])).toEqual([
      ['now', 'leased'],
      ['later', 'queued'],
    ])
    await ok(bob, 'comm_ack', {
      message_id: polled.messages[0]!.message.id,
      agent_id: 'builder',
      receipt: polled.messages[0]!.lease.receipt,
    })
    expect((await readJson<Inbox>(bob, 'agent-comm://inbox/builder')).count).toBe(1)
  })

  it('pages with ?limit and &before=<nextBefore>, in claim order, and refuses a bad query', async () => {
    const { alice, bob } = await twoAgents()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const sent = await ok<{ messageId: string }>(alice, 'comm_send', {
        from_agent: 'architect',
        to_agent: 'builder',
        body: `task ${i}`,
      })
      ids.push(sent.messageId)
    }
    const seen: string[] = []
    let uri = 'agent-comm://inbox/builder?limit=2'
    for (let page = 0; page < 3; page++) {
      const inbox = await readJson<Inbox & { nextBefore?: string }>(bob, uri)
      expect(inbox.count).toBe(page < 2 ? 2 : 1)
      seen.push(...inbox.messages.map((m) => m.message.id))
      if (page < 2) {
        expect(inbox.nextBefore).toBe(inbox.messages.at(-1)!.message.id)
        expect(inbox.note).toContain(`before=${inbox.nextBefore}`)
        uri = `agent-comm://inbox/builder?limit=2&before=${inbox.nextBefore}`
      } else {
        expect(inbox.nextBefore).toBeUndefined()
      }
    }
    expect(seen).toEqual(ids)
    // The default page still holds all five, with no cursor.
    const all = await readJson<Inbox & { nextBefore?: string }>(bob, 'agent-comm://inbox/builder')
    expect(all.count).toBe(5)
    expect(all.nextBefore).toBeUndefined()

    await expect(bob.readResource({ uri: 'agent-comm://inbox/builder?limit=0' })).rejects.toThrow(/limit/)
    await expect(bob.readResource({ uri: 'agent-comm://inbox/builder?limit=101' })).rejects.toThrow(/limit/)
    await expect(bob.readResource({ uri: 'agent-comm://inbox/builder?page=2' })).rejects.toThrow(
      /unknown parameter page/,
    )
    // A cursor that is no longer waiting (acked since) says to read from the start.
    const [first] = await ok<{ messages: Claimed[] }>(bob, 'comm_poll', {
      agent_id: 'builder',
      limit: 1,
    }).then((r) => r.messages)
    await ok(bob, 'comm_ack', {
      message_id: first!.message.id,
      agent_id: 'builder',
      receipt: first!.lease.receipt,
    })
    await expect(
      bob.readResource({ uri: `agent-comm://inbox/builder?before=${first!.message.id}` }),
    ).rejects.toThrow(/no longer waiting.*from the start/)
  })

  it('says when the agent is not registered, and refuses a malformed agent id', async () => {
    const { bob } = await twoAgents()
    const inbox = await readJson<Inbox>(bob, 'agent-comm://inbox/ghost')
    expect(inbox).toMatchObject({ registered: false, count: 0 })
    expect(inbox.note).toContain('comm_register_agent')
    await expect(bob.readResource({ uri: 'agent-comm://inbox/no%20spaces' })).rejects.toThrow(/agent id/)
  })

  it('is listed for each registered agent, beside the recent conversations', async () => {
    const { alice } = await twoAgents()
    const sent = await ok<{ conversationId: string }>(alice, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      subject: 'Hello',
      body: 'x',
    })
    const { resources } = await alice.listResources()
    expect(resources.map((r) => r.uri)).toEqual(
      expect.arrayContaining([
        'agent-comm://inbox/architect',
        'agent-comm://inbox/builder',
        conversationUri(sent.conversationId),
      ]),
    )
    const { resourceTemplates } = await alice.listResourceTemplates()
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'agent-comm://inbox/{agent}',
      'agent-comm://conversation/{id}',
    ])
  })

  it('declares subscriptions but not list changes, which it never announces', async () => {
    const { alice } = await twoAgents()
    const resources = alice.getServerCapabilities()?.resources
    expect(resources).toEqual({ subscribe: true })
  })

  it('round-trips agent ids through URIs', () => {
    expect(inboxAgentOf(inboxUri('team:lead@host'))).toBe('team:lead@host')
    expect(inboxAgentOf('agent-comm://inbox/team:lead@host')).toBe('team:lead@host')
    expect(inboxAgentOf('agent-comm://conversation/x')).toBeUndefined()
    expect(inboxAgentOf('agent-comm://inbox/a/b')).toBeUndefined()
  })
})

describe('conversation resource', () => {
  it('holds every message of a thread, oldest first', async () => {
    const { alice, bob } = await twoAgents()
    const sent = await ok<{ messageId: string; conversationId: string }>(alice, 'comm_send', {
      from_agent: 'architect',
      to_agent: 'builder',
      body: 'question',
    })
    await ok(bob, 'comm_reply', { message_id: sent.messageId, body: 'answer' })
    const thread = await readJson<{ conversationId: string; count: number; messages: { body: string }[] }>(
      bob,
      conversationUri(sent.conversationId),
    )
    expect(thread.conversationId).toBe(sent.conversationId)
    expect(thread.messages.map((m) => m.body)).toEqual(['question', 'answer'])
  })

  it('fails for an unknown conversation with what to do', async () => {
    const { bob } = await twoAgents()
    await expect(bob.readResource({ uri: 'agent-comm://conversation/conv_nope' })).rejects.toThrow(
      /comm_list_conversations/,
    )
  })
})

describe('inbox subscriptions', () => {
  it('notifies a subscribed client when a message arrives in the inbox', async () => {
    const { alice, bob } = await twoAgents()
    const notes = updates(bob)
    await bob.subscribeResource({ uri: 'agent-comm://inbox/builder' })

    await ok(alice, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'first' })
    expect(await notes.next()).toBe('agent-comm://inbox/builder')
    // The notification says the resource changed; reading it shows the new message.
    const inbox = await readJson<Inbox>(bob, 'agent-comm://inbox/builder')
    expect(inbox.messages.map((m) => m.message.body)).toEqual(['first'])

    // Messages are already waiting now, so the next arrival is seen by the slower re-check.
    await ok(alice, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'second' })
    expect(await notes.next()).toBe('agent-comm://inbox/builder')
  })

  it('notifies only for the subscribed inbox, and stops after unsubscribe', async () => {
    const { alice, bob } = await twoAgents({ inboxCheckIntervalMs: 20 })
    const notes = updates(bob)
    await bob.subscribeResource({ uri: 'agent-comm://inbox/builder' })
    await bob.subscribeResource({ uri: 'agent-comm://inbox/architect' })
    await ok(alice, 'comm_send', { from_agent: 'builder', to_agent: 'architect', body: 'to architect' })
    expect(await notes.next()).toBe('agent-comm://inbox/architect')

    await bob.unsubscribeResource({ uri: 'agent-comm://inbox/architect' })
    await ok(alice, 'comm_send', { from_agent: 'builder', to_agent: 'architect', body: 'unheard' })
    await ok(alice, 'comm_send', { from_agent: 'architect', to_agent: 'builder', body: 'to builder' })
    // Notifications arrive in order: the builder's comes, and none for the unsubscribed architect inbox.
    expect(await notes.next()).toBe('agent-comm://inbox/builder')
    expect(notes.received).toEqual([])
  })

  it('refuses to subscribe to anything but an inbox', async () => {
    const { bob } = await twoAgents()
    await expect(bob.subscribeResource({ uri: 'agent-comm://conversation/conv_x' })).rejects.toThrow(
      /only inboxes/,
    )
  })
})
