import { describe, expect, it } from 'vitest'
import { TOOL_PROFILES } from '../src/index.js'
import { connect, fails, fakeRelaySecrets, openCoordinator } from './helpers.js'

describe('tool profiles and lean schemas', () => {
  it('offers the tools of the chosen profile or list', async () => {
    const coordinator = await openCoordinator()
    const names = async (tools: string) =>
      (await (await connect(coordinator, { tools })).listTools()).tools.map((t) => t.name)
    const core = await names('core')
    expect(core).toEqual(TOOL_PROFILES.core.filter((n) => core.includes(n)))
    expect(core).toContain('comm_send')
    expect(core).not.toContain('comm_cleanup')
    expect(await names('messaging')).toContain('comm_search')
    expect(await names('admin')).toContain('comm_spool_stats')
    expect(await names('send,poll')).toEqual(['comm_send', 'comm_poll'])
    await expect(connect(coordinator, { tools: 'bogus' })).rejects.toThrow(
      /'bogus' is neither a profile nor a tool/,
    )
  })

  it('lists schemas without $schema, ±2^53 bounds or nullable unions, and with the library limits', async () => {
    const client = await connect(await openCoordinator(), { relaySecrets: fakeRelaySecrets() })
    const listed = JSON.stringify(await client.listTools())
    expect(listed).not.toContain('$schema')
    expect(listed).not.toContain('9007199254740991')
    expect(listed).not.toMatch(/"anyOf":\[\{"type":"string"\},\{"type":"null"\}\]/)
    const send = (await client.listTools()).tools.find((t) => t.name === 'comm_send')!
    expect(send.inputSchema.properties?.subject).toMatchObject({ maxLength: 1024 })
    expect(send.inputSchema.properties?.body).toMatchObject({ maxLength: 1_048_576 })
    expect(send.inputSchema).toMatchObject({ additionalProperties: false })
  })

  it('refuses unknown keys naming them, in the agent-comm error shape', async () => {
    const coordinator = await openCoordinator()
    await coordinator.register({ agentId: 'builder', capabilities: [] })
    const client = await connect(coordinator)
    const result = await client.callTool({ name: 'comm_poll', arguments: { agent_id: 'builder', limt: 3 } })
    expect(result.isError).toBe(true)
    expect(result._meta?.['agent-comm/error']).toMatchObject({ code: 'VALIDATION' })
    const text = await fails(client, 'comm_poll', { agent_id: 'builder', limt: 3 })
    expect(text).toMatch(/^VALIDATION: Invalid arguments for comm_poll: limt: unknown parameter/)
    expect(text).toContain('Fix the arguments')
  })
})
