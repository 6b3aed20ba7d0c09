import { describe, expect, it } from 'vitest'
import { secretEnvName, secretFromEnv } from '../src/index.js'

describe('secrets from the environment', () => {
  it('names the variable AGENT_COMM_SECRET_ and the upper-cased id with other characters as _', () => {
    expect(secretEnvName('agent-b')).toBe('AGENT_COMM_SECRET_AGENT_B')
    expect(secretEnvName('builder')).toBe('AGENT_COMM_SECRET_BUILDER')
    expect(secretEnvName('ops.bot@host:2')).toBe('AGENT_COMM_SECRET_OPS_BOT_HOST_2')
    expect(secretEnvName('Agent_7')).toBe('AGENT_COMM_SECRET_AGENT_7')
  })

  it('reads the secret from the env object it is given, trimmed, and nothing from a blank one', () => {
    const env = { AGENT_COMM_SECRET_AGENT_B: '  acs_abc  ', AGENT_COMM_SECRET_BLANK: '   ' }
    expect(secretFromEnv(env, 'agent-b')).toBe('acs_abc')
    expect(secretFromEnv(env, 'blank')).toBeUndefined()
    expect(secretFromEnv(env, 'missing')).toBeUndefined()
  })
})
