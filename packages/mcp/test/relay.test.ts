import { chmodSync, readFileSync } from 'node:fs'
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
      file: string
      envVar: string
      createdAt: string
    }
    expect(issued.agentId).toBe('remote-builder')
    expect(issued.envVar).toBe('AGENT_COMM_SECRET_REMOTE_BUILDER')
    // The secret goes to a private file, never into the transcript.
    const line = readFileSync(issued.file, 'utf8').trim()
    expect(line).toMatch(/^AGENT_COMM_SECRET_REMOTE_BUILDER=.{32,}$/)
    const secret = line.split('=')[1]!
    expect((await stat(issued.file)).mode & 0o077).toBe(0)
    expect(JSON.stringify(generated)).not.toContain(secret)
    expect(textOf(generated)).toContain(issued.file)
    const issuedSecret = secret
    // The store is the relay's file, private to its owner.
    expect((await stat(join(dataDir, 'secrets.json'))).mode & 0o077).toBe(0)

    const listed = await call(client, 'comm_relay_list_secrets')
    expect(listed.structuredContent).toEqual({
      count: 1,
      secrets: [{ agentId: 'remote-builder', createdAt: issued.createdAt, activeSecrets: 1 }],
    })
    expect(JSON.stringify(listed)).not.toContain(issuedSecret)
  })

  it('refuses a second secret unless told to replace it', async () => {
    const relaySecrets = await openRelaySecrets(join(tempDir(), 'relay'), silentLogger)
    const client = await connect(await openCoordinator(), { relaySecrets })
    const first = await ok<{ file: string }>(client, 'comm_relay_gen_secret', { agent_id: 'builder' })
    const firstSecret = readFileSync(first.file, 'utf8')
    const error = await fails(client, 'comm_relay_gen_secret', { agent_id: 'builder' })
    expect(error).toMatch(/^INVALID_STATE: Agent 'builder' already has a relay secret/)
    expect(error).toContain('replace: true')
    expect(error).not.toContain(firstSecret.split('=')[1]!.trim())
    const second = await ok<{ file: string }>(client, 'comm_relay_gen_secret', {
      agent_id: 'builder',
      replace: true,
    })
    expect(readFileSync(second.file, 'utf8')).not.toBe(firstSecret)
  })

  it('hides the relay secret tools when no relay data folder or database is configured', async () => {
    const client = await connect(await openCoordinator())
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).not.toContain('comm_relay_gen_secret')
    expect(names).not.toContain('comm_relay_list_secrets')
  })
})

describe('relay secret file', () => {
  it('writes a replaced secret to a file only its owner can read, even where an older file was readable by others', async () => {
    const dir = tempDir()
    const relaySecrets = await openRelaySecrets(join(tempDir(), 'relay'), silentLogger)
    const client = await connect(await openCoordinator(), { relaySecrets, relaySecretOutputDir: dir })
    const first = await ok<{ file: string }>(client, 'comm_relay_gen_secret', { agent_id: 'builder' })
    chmodSync(first.file, 0o644)
    const second = await ok<{ file: string }>(client, 'comm_relay_gen_secret', {
      agent_id: 'builder',
      replace: true,
    })
    expect(second.file).toBe(first.file)
    expect((await stat(second.file)).mode & 0o077).toBe(0)
  })
})
