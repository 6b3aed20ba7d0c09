import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { Registry } from '../src/index.js'
import { onCleanup, tempDir } from './helpers.js'

/** A database with the spool's and the registry's tables and one agent; returns its path. */
async function populated(): Promise<string> {
  const path = join(tempDir(), 'shared.db')
  const spool = await Spool.open({ path })
  const registry = await Registry.open({ spool })
  await registry.register({ agentId: 'builder', capabilities: ['build'] })
  await registry.close()
  await spool.close()
  return path
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; details?: { reason?: string } }> {
  try {
    await promise
  } catch (error) {
    return error as { code: string; details?: { reason?: string } }
  }
  throw new Error('expected a failure')
}

describe('a registry on a read-only connection', () => {
  it('lists agents from a read-only spool and refuses registrations with reason read-only', async () => {
    const path = await populated()
    const spool = await Spool.open({ path, readonly: true })
    onCleanup(() => spool.close())
    const registry = await Registry.open({ spool })
    expect((await registry.list()).map((agent) => agent.agentId)).toEqual(['builder'])
    const error = await failure(registry.register({ agentId: 'reviewer' }))
    expect(error.code).toBe('STORAGE')
    expect(error.details?.reason).toBe('read-only')
  })

  it('opens a path read-only, and refuses an older registry schema instead of migrating it', async () => {
    const path = await populated()
    const registry = await Registry.open({ path, readonly: true })
    expect(await registry.get('builder')).toMatchObject({ capabilities: ['build'] })
    await registry.close()

    const raw = new Database(path)
    raw.exec('DELETE FROM __agent_comm_registry_migrations')
    raw.close()
    const error = await failure(Registry.open({ path, readonly: true }))
    expect(error.code).toBe('SCHEMA_VERSION')
  })
})
