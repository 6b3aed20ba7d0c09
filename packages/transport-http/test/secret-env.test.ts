import { describe, expect, it } from 'vitest'
import { hasPlainSecretEnvName, secretEnvName, secretFromEnv } from '../src/index.js'

describe('secrets from the environment', () => {
  it('names the variable of a lower-case hyphenated id AGENT_COMM_SECRET_ and the id upper-cased, as before', () => {
    expect(secretEnvName('agent-b')).toBe('AGENT_COMM_SECRET_AGENT_B')
    expect(secretEnvName('builder')).toBe('AGENT_COMM_SECRET_BUILDER')
    expect(secretEnvName('code-reviewer-2')).toBe('AGENT_COMM_SECRET_CODE_REVIEWER_2')
    expect(hasPlainSecretEnvName('agent-b')).toBe(true)
  })

  it('gives ids that would share a variable distinct ones', () => {
    const ids = [
      'agent-b',
      'Agent-B',
      'agent.b',
      'agent_b',
      'AGENT-B',
      'agent--b',
      'agent-b-',
      'ops.bot@host:2',
    ]
    const names = ids.map(secretEnvName)
    expect(new Set(names).size).toBe(ids.length)
    expect(secretEnvName('Agent-B')).toBe('AGENT_COMM_SECRET__4167656E742D42')
    for (const [i, id] of ids.entries()) {
      expect(names[i]).toMatch(/^[A-Z0-9_]+$/)
      expect(hasPlainSecretEnvName(id)).toBe(i === 0)
    }
    // Only the readable names of plain ids are read for them: agent.b does not pick up agent-b's secret.
    const env = { AGENT_COMM_SECRET_AGENT_B: 'acs_for_agent_b' }
    expect(secretFromEnv(env, 'agent-b')).toBe('acs_for_agent_b')
    for (const id of ids.slice(1)) expect(secretFromEnv(env, id)).toBeUndefined()
  })

  it('reads the secret from the env object it is given, trimmed, and nothing from a blank one', () => {
    const env = { AGENT_COMM_SECRET_AGENT_B: '  acs_abc  ', AGENT_COMM_SECRET_BLANK: '   ' }
    expect(secretFromEnv(env, 'agent-b')).toBe('acs_abc')
    expect(secretFromEnv(env, 'blank')).toBeUndefined()
    expect(secretFromEnv(env, 'missing')).toBeUndefined()
  })
})
