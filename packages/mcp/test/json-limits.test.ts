import { describe, expect, it } from 'vitest'
import { connect, fails, ok, openCoordinator } from './helpers.js'

/** `levels` objects nested in each other. */
const nested = (levels: number): unknown =>
  JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`)

describe('JSON arguments nested too deep', () => {
  it('are refused as invalid arguments naming the parameter and the depth limit', async () => {
    const coordinator = await openCoordinator()
    const client = await connect(coordinator)
    await ok(client, 'comm_register_agent', { agent_id: 'architect', capabilities: ['plan'] })
    await ok(client, 'comm_register_agent', { agent_id: 'builder', capabilities: ['code'] })
    const send = { from_agent: 'architect', to_agent: 'builder', body: 'hi' }
    for (const [parameter, extra] of [
      ['metadata', { metadata: nested(3_000) }],
      ['payload_data', { payload_type: 'context_share', payload_data: nested(3_000) }],
    ] as const) {
      // The tool's input schema refuses it, before the tool runs: no stack overflow on the way.
      const error = await fails(client, 'comm_send', { ...send, ...extra })
      expect(error).toMatch(
        /^VALIDATION: Invalid arguments for comm_send: .*is nested more than 64 levels deep .*jsonMaxDepth/,
      )
      expect(error).toContain(`${parameter}: is nested`)
    }
    await ok(client, 'comm_send', { ...send, metadata: nested(64) })
  })
})
