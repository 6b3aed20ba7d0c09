import { Limits, MAX_DELAY_SECONDS, MAX_NACK_REASON_LENGTH } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { TOOL_NAMES } from '../src/index.js'
import { call, connect, fakeRelaySecrets, openCoordinator, textOf } from './helpers.js'

/** The seed's 14 tools, by their exact names. */
const SEED_TOOLS = [
  'comm_register_agent',
  'comm_send',
  'comm_poll',
  'comm_ack',
  'comm_nack',
  'comm_message_status',
  'comm_discover_agents',
  'comm_deregister',
  'comm_spool_stats',
  'comm_cleanup',
  'comm_get_conversation',
  'comm_heartbeat',
  'comm_relay_gen_secret',
  'comm_relay_list_secrets',
]

/** readOnly / destructive / idempotent, as each tool really behaves. */
const BEHAVIOUR: Record<string, [boolean, boolean, boolean]> = {
  comm_start_session: [false, false, true],
  comm_register_agent: [false, false, true],
  comm_discover_agents: [true, false, true],
  comm_deregister: [false, true, true],
  comm_heartbeat: [false, false, true],
  comm_send: [false, false, false],
  comm_reply: [false, false, false],
  comm_request: [false, false, false],
  comm_await_reply: [false, false, false],
  comm_poll: [false, false, false],
  comm_ack: [false, false, true],
  comm_nack: [false, true, false],
  comm_message_status: [true, false, true],
  comm_get_conversation: [true, false, true],
  comm_list_conversations: [true, false, true],
  comm_search: [true, false, true],
  comm_spool_stats: [true, false, true],
  comm_cleanup: [false, true, true],
  comm_relay_gen_secret: [false, true, false],
  comm_relay_list_secrets: [true, false, true],
}

describe('tools/list', () => {
  it('lists the 14 seed tools and the added ones, each with input and output schemas and annotations', async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const { tools } = await client.listTools()
    const names = tools.map((t) => t.name)
    expect(names).toEqual([...TOOL_NAMES])
    expect(names).toHaveLength(20)
    for (const seed of SEED_TOOLS) expect(names).toContain(seed)
    expect(names).toEqual(expect.arrayContaining(['comm_reply', 'comm_search', 'comm_list_conversations']))

    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy()
      expect(tool.description?.length, tool.name).toBeGreaterThan(80)
      expect(tool.inputSchema.type, tool.name).toBe('object')
      expect(tool.outputSchema?.type, tool.name).toBe('object')
      expect(Object.keys(tool.outputSchema?.properties ?? {}).length, tool.name).toBeGreaterThan(0)
      const [readOnly, destructive, idempotent] = BEHAVIOUR[tool.name]!
      expect(tool.annotations, tool.name).toMatchObject({
        readOnlyHint: readOnly,
        destructiveHint: destructive,
        idempotentHint: idempotent,
        openWorldHint: false,
      })
    }
  })

  it('takes snake_case parameters like the CLI, with the required ones marked', async () => {
    const client = await connect(await openCoordinator())
    const { tools } = await client.listTools()
    const tool = (name: string) => tools.find((t) => t.name === name)!
    const params = (name: string) => Object.keys(tool(name).inputSchema.properties ?? {})

    expect(params('comm_send')).toEqual(
      expect.arrayContaining([
        'from_agent',
        'to_agent',
        'body',
        'subject',
        'priority',
        'payload_type',
        'payload_data',
        'reply_to',
        'conversation_id',
        'ttl_hours',
      ]),
    )
    expect(tool('comm_send').inputSchema.required).toEqual(['from_agent', 'to_agent', 'body'])
    expect(params('comm_poll')).toEqual([
      'agent_id',
      'limit',
      'lease_seconds',
      'wait_seconds',
      'include_bodies',
      'max_body_chars',
    ])
    expect(tool('comm_poll').inputSchema.properties?.limit).toMatchObject({
      minimum: 1,
      maximum: 100,
      default: 10,
    })
    expect(tool('comm_poll').inputSchema.properties?.wait_seconds).toMatchObject({ maximum: 3600 })
    expect(params('comm_ack')).toEqual(['message_id', 'agent_id', 'receipt'])
    expect(params('comm_nack')).toEqual(
      expect.arrayContaining(['message_id', 'agent_id', 'reason', 'delay_seconds', 'dead_letter']),
    )
    expect(tool('comm_nack').inputSchema.required).toEqual(['message_id', 'agent_id', 'reason'])
    expect(params('comm_register_agent')).toEqual([
      'agent_id',
      'capabilities',
      'device',
      'transport',
      'relay_url',
      'inbox_dir',
      'metadata',
    ])
    expect(params('comm_reply')).toEqual(
      expect.arrayContaining(['message_id', 'from_agent', 'body', 'subject', 'payload_type', 'payload_data']),
    )
    expect(params('comm_cleanup')).toEqual(['dry_run', 'acked_older_than_hours'])
  })

  it("shows the protocol's bounds of delay_seconds, a nack's reason and a search's to_agent", async () => {
    const client = await connect(await openCoordinator())
    const { tools } = await client.listTools()
    const property = (tool: string, name: string) =>
      tools.find((t) => t.name === tool)!.inputSchema.properties?.[name] as Record<string, unknown>
    for (const tool of ['comm_send', 'comm_reply', 'comm_request', 'comm_nack']) {
      expect(property(tool, 'delay_seconds'), tool).toMatchObject({ minimum: 0, maximum: MAX_DELAY_SECONDS })
    }
    expect(property('comm_nack', 'reason')).toMatchObject({ maxLength: MAX_NACK_REASON_LENGTH })
    expect(property('comm_search', 'to_agent')).toMatchObject({ maxLength: Limits.agentIdMaxLength })
    // The bound is the call's: a longer delay is refused naming the parameter, before anything is sent.
    const tooLate = await call(client, 'comm_send', {
      from_agent: 'a',
      to_agent: 'a',
      body: 'x',
      delay_seconds: MAX_DELAY_SECONDS + 1,
    })
    expect(tooLate.isError).toBe(true)
    expect(textOf(tooLate)).toContain('delay_seconds')
  })

  it('shows the ttl_hours bounds and the JSON nesting limits the library enforces', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'a', capabilities: [] })
    const client = await connect(coordinator)
    const { tools } = await client.listTools()
    const property = (tool: string, name: string) =>
      tools.find((t) => t.name === tool)!.inputSchema.properties?.[name] as Record<string, unknown>
    for (const tool of ['comm_send', 'comm_reply', 'comm_request']) {
      expect(property(tool, 'ttl_hours'), tool).toMatchObject({ exclusiveMinimum: 0, maximum: 87_600 })
      for (const json of ['payload_data', 'metadata']) {
        expect(property(tool, json), `${tool} ${json}`).toMatchObject({
          'x-agent-comm-json-limits': { maxDepth: 64, maxBytes: 1_048_576, maxKeys: 10_000 },
          description: expect.stringContaining('at most 64 levels of nested arrays and objects'),
        })
      }
    }
    expect(property('comm_register_agent', 'metadata').description).toContain('64 levels')
    // What the schema says is what a call gets: past either bound it is refused, naming the parameter.
    const tooLong = await call(client, 'comm_send', {
      from_agent: 'a',
      to_agent: 'a',
      body: 'x',
      ttl_hours: 87_601,
    })
    expect(textOf(tooLong)).toMatch(/^VALIDATION: .*ttl_hours/)
    let deep: unknown = {}
    for (let i = 0; i < 64; i++) deep = { d: deep }
    const tooDeep = await call(client, 'comm_send', {
      from_agent: 'a',
      to_agent: 'a',
      body: 'x',
      metadata: deep,
    })
    expect(textOf(tooDeep)).toMatch(/^VALIDATION: .*metadata.*nested more than 64 levels/)
  })

  it('tells the model what to do next in the descriptions of the receive loop', async () => {
    const client = await connect(await openCoordinator())
    const { tools } = await client.listTools()
    const description = (name: string) => tools.find((t) => t.name === name)!.description!
    expect(description('comm_poll')).toMatch(/comm_ack/)
    expect(description('comm_poll')).toMatch(/receipt/)
    expect(description('comm_poll')).toMatch(/comm_nack/)
    expect(description('comm_poll')).toMatch(/not a read-only peek/)
    expect(description('comm_reply')).toMatch(/comm_ack/)
    expect(description('comm_send')).toMatch(/comm_reply/)
    expect(description('comm_cleanup')).toMatch(/dry_run/)
  })
})
