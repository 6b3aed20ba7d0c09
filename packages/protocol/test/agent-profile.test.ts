import { describe, expect, it } from 'vitest'
import { AgentProfileSchema, parseOrThrow } from '../src/index.js'

describe('AgentProfile', () => {
  it('applies defaults for a minimal registration', () => {
    const profile = parseOrThrow(AgentProfileSchema, { agentId: 'builder' }, 'agent profile')
    expect(profile).toMatchObject({
      agentId: 'builder',
      capabilities: [],
      transport: 'sqlite',
      status: 'active',
    })
  })

  it('rejects an unknown transport with the valid ones', () => {
    expect(() =>
      parseOrThrow(AgentProfileSchema, { agentId: 'b', transport: 'smtp' }, 'agent profile'),
    ).toThrow(/transport: must be one of sqlite, http, file/)
  })

  it('accepts only http(s) relay URLs', () => {
    expect(() =>
      parseOrThrow(AgentProfileSchema, { agentId: 'b', relayUrl: 'ftp://x' }, 'agent profile'),
    ).toThrow(/relayUrl/)
    expect(
      parseOrThrow(AgentProfileSchema, { agentId: 'b', relayUrl: 'http://machine-b:8420' }, 'agent profile')
        .relayUrl,
    ).toBe('http://machine-b:8420')
  })
})
