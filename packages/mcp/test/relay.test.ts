import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLogger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { openRelaySecrets } from '../src/index.js'
import { call, connect, fails, ok, openCoordinator, tempDir, textOf } from './helpers.js'

describe('relay secret tools', () => {
  it('generates a secret shown only in its own result, and lists agents without secrets', async () => {
    const dataDir = join(tempDir(), 'relay')
    const relaySecrets = await openRelaySecrets(dataDir, silentLogger)
    const client = await connect(await openCoordinator(), { relaySecrets })

    const generated = await call(client, 'comm_relay_gen_secret', { agent_id: 'remote-builder' })
    const issued = generated.structuredContent as {
      agentId: string
      secret: string
      envVar: string
      createdAt: string
    }
    expect(issued.agentId).toBe('remote-builder')
    expect(issued.secret.length).toBeGreaterThanOrEqual(32)
    expect(issued.envVar).toBe('AGENT_COMM_SECRET_REMOTE_BUILDER')
    expect(textOf(generated)).toContain(issued.secret)
    expect(textOf(generated)).toContain('AGENT_COMM_SECRET_REMOTE_BUILDER=')
    // The store is the relay's file, private to its owner.
    expect((await stat(join(dataDir, 'secrets.json'))).mode & 0o077).toBe(0)

    const listed = await call(client, 'comm_relay_list_secrets')
    expect(listed.structuredContent).toEqual({
      count: 1,
      secrets: [{ agentId: 'remote-builder', createdAt: issued.createdAt, activeSecrets: 1 }],
    })
    expect(JSON.stringify(listed)).not.toContain(issued.secret)
  })

  it('refuses a second secret unless told to replace it', async () => {
    const relaySecrets = await openRelaySecrets(join(tempDir(), 'relay'), silentLogger)
    const client = await connect(await openCoordinator(), { relaySecrets })
    const first = await ok<{ secret: string }>(client, 'comm_relay_gen_secret', { agent_id: 'builder' })
    const error = await fails(client, 'comm_relay_gen_secret', { agent_id: 'builder' })
    expect(error).toMatch(/^INVALID_STATE: Agent 'builder' already has a relay secret/)
    expect(error).toContain('replace: true')
    expect(error).not.toContain(first.secret)
    const second = await ok<{ secret: string }>(client, 'comm_relay_gen_secret', {
      agent_id: 'builder',
      replace: true,
    })
    expect(second.secret).not.toBe(first.secret)
  })

  it('explains how to configure a store when none was given', async () => {
    const client = await connect(await openCoordinator())
    for (const tool of ['comm_relay_gen_secret', 'comm_relay_list_secrets']) {
      const error = await fails(client, tool, tool === 'comm_relay_gen_secret' ? { agent_id: 'builder' } : {})
      expect(error).toMatch(/^CONFIG: /)
      expect(error).toContain('AGENT_COMM_RELAY_DATA_DIR=')
    }
  })
})
