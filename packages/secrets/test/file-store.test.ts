import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Logger, ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { SecretStore } from '../src/index.js'
import { tempDir } from './helpers.js'

const T0 = Date.UTC(2026, 1, 3, 14, 30)
const mode = (path: string) => statSync(path).mode & 0o777

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (fields: Record<string, unknown>, message: string) =>
    lines.push(`${message} ${JSON.stringify(fields)}`)
  return { lines, debug: log, info: log, warn: log, error: log }
}

describe('the secret store', () => {
  it('creates its file readable by its owner only, and keeps it so', async () => {
    const path = SecretStore.fileIn(join(tempDir(), 'relay'))
    const store = await SecretStore.open({ path })
    expect(mode(path)).toBe(0o600)
    await store.generate('builder')
    await store.rotate('builder')
    expect(mode(path)).toBe(0o600)
  })

  it('repairs a file that others could read, and says so without the secrets', async () => {
    const path = join(tempDir(), 'secrets.json')
    const first = await SecretStore.open({ path })
    const { secret } = await first.generate('builder')
    chmodSync(path, 0o644)
    const logger = recordingLogger()
    const store = await SecretStore.open({ path, logger })
    expect(mode(path)).toBe(0o600)
    expect(logger.lines.join('\n')).toContain('mode was reset to 0600')
    chmodSync(path, 0o640)
    expect(store.secretsFor('builder')).toEqual([secret])
    expect(mode(path)).toBe(0o600)
    expect(logger.lines.join('\n')).not.toContain(secret)
  })

  it('generates 32 random bytes per agent and lists agents with dates, never secrets', async () => {
    const clock = new ManualClock(T0)
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json'), clock })
    const builder = await store.generate('builder')
    clock.advance(1000)
    const reviewer = await store.generate('reviewer')
    expect(builder.secret).toMatch(/^acs_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(builder.secret.slice(4), 'base64url')).toHaveLength(32)
    expect(builder.secret).not.toBe(reviewer.secret)
    const list = await store.list()
    expect(list).toEqual([
      { agentId: 'builder', createdAt: new Date(T0).toISOString(), activeSecrets: 1 },
      { agentId: 'reviewer', createdAt: new Date(T0 + 1000).toISOString(), activeSecrets: 1 },
    ])
    expect(JSON.stringify(list)).not.toContain('acs_')
  })

  it('issues no secret for a name no agent may be registered under', async () => {
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json') })
    for (const agentId of ['a2a:acme', 'system:expiry', 'capability:review', '-x']) {
      await expect(store.generate(agentId)).rejects.toMatchObject({
        code: 'VALIDATION',
        message: expect.stringContaining('must not start with'),
      })
    }
    expect(await store.list()).toEqual([])
  })

  it('refuses to overwrite a secret unless asked to replace it', async () => {
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json') })
    const first = await store.generate('builder')
    await expect(store.generate('builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    const replaced = await store.generate('builder', { replace: true })
    expect(store.secretsFor('builder')).toEqual([replaced.secret])
    expect(replaced.secret).not.toBe(first.secret)
  })

  it('keeps the old secret working for the grace period of a rotation', async () => {
    const clock = new ManualClock(T0)
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json'), clock })
    const old = await store.generate('builder')
    const rotated = await store.rotate('builder', { graceSeconds: 3600 })
    expect(rotated.previousValidUntil).toBe(new Date(T0 + 3_600_000).toISOString())
    expect(store.secretsFor('builder')).toEqual([rotated.secret, old.secret])
    expect((await store.list())[0]).toMatchObject({
      activeSecrets: 2,
      previousValidUntil: rotated.previousValidUntil,
    })
    clock.advance(3_600_000)
    expect(store.secretsFor('builder')).toEqual([rotated.secret])
    await expect(store.rotate('nobody')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
  })

  it('revokes every secret of an agent', async () => {
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json') })
    await store.generate('builder')
    await store.rotate('builder')
    expect(await store.revoke('builder')).toEqual({ agentId: 'builder', revoked: 2 })
    expect(store.secretsFor('builder')).toEqual([])
    expect(store.has('builder')).toBe(false)
    await expect(store.revoke('builder')).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' })
    expect(readFileSync(store.path, 'utf8')).not.toContain('acs_')
  })

  it('sees changes made by another store on the same file, and loses none when both write at once', async () => {
    const path = join(tempDir(), 'secrets.json')
    const relay = await SecretStore.open({ path })
    const cli = await SecretStore.open({ path })
    const issued = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? relay : cli).generate(`agent-${i}`)),
    )
    for (const { agentId, secret } of issued) {
      expect(relay.secretsFor(agentId)).toEqual([secret])
      expect(cli.secretsFor(agentId)).toEqual([secret])
    }
    await cli.revoke('agent-0')
    expect(relay.secretsFor('agent-0')).toEqual([])
  })

  it("with recheck 'turn', looks at the file once per turn of the event loop and sees a change from the next", async () => {
    const path = join(tempDir(), 'secrets.json')
    const relay = await SecretStore.open({ path, recheck: 'turn' })
    const cli = await SecretStore.open({ path })
    const { secret } = await cli.generate('builder')
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
    await nextTurn()
    expect(relay.secretsFor('builder')).toEqual([secret])
    // Deleted in the same turn: not looked at again until the next one, when the deletion revokes it.
    rmSync(path)
    expect(relay.secretsFor('builder')).toEqual([secret])
    await nextTurn()
    expect(relay.secretsFor('builder')).toEqual([])
  })

  it('keeps the last good secrets when the file is damaged, and fails closed when it is deleted', async () => {
    const path = join(tempDir(), 'secrets.json')
    const logger = recordingLogger()
    const store = await SecretStore.open({ path, logger })
    const { secret } = await store.generate('builder')
    writeFileSync(path, '{ not json', { mode: 0o600 })
    expect(store.secretsFor('builder')).toEqual([secret])
    expect(logger.lines.join('\n')).toContain('secret store unreadable')
    rmSync(path)
    expect(store.secretsFor('builder')).toEqual([])
  })

  it('says a damaged file is damaged and where, without quoting any of it', async () => {
    const path = join(tempDir(), 'secrets.json')
    const { secret } = await (await SecretStore.open({ path })).generate('builder')
    // One lost quote before the secret: V8's own message would quote the text around it.
    writeFileSync(path, readFileSync(path, 'utf8').replace('"secret": "', '"secret": '), { mode: 0o600 })
    const error = await SecretStore.open({ path }).catch((e: unknown) => e)
    const shown = JSON.stringify(error) + String((error as Error).message) + String((error as Error).stack)
    expect(error).toMatchObject({ code: 'STORAGE', message: expect.stringContaining('is damaged') })
    expect((error as { hint: string }).hint).toContain('backup')
    expect(shown).not.toContain(secret.slice(0, 6))
    expect((error as Error).cause).toBeUndefined()
    // Where V8 names the place, so does the error.
    writeFileSync(path, '{\n"version": 1\n,}', { mode: 0o600 })
    await expect(SecretStore.open({ path })).rejects.toMatchObject({
      message: expect.stringContaining('near line 3, column 2'),
    })
  })

  it('refuses a folder it cannot create, under /proc too, with a STORAGE error instead of hanging', async () => {
    // Node's recursive mkdir retries forever under /proc (ENOENT at every level), deaf to signals.
    await expect(SecretStore.open({ path: '/proc/agent-comm-test/secrets.json' })).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('/proc/agent-comm-test'),
    })
  })

  it('refuses a file that is not a secret store', async () => {
    const path = join(tempDir(), 'secrets.json')
    writeFileSync(path, JSON.stringify({ hello: 'world' }), { mode: 0o600 })
    await expect(SecretStore.open({ path })).rejects.toMatchObject({ code: 'STORAGE' })
  })

  it('refuses an invalid agent id', async () => {
    const store = await SecretStore.open({ path: join(tempDir(), 'secrets.json') })
    await expect(store.generate('not an id')).rejects.toMatchObject({ code: 'VALIDATION' })
  })
})
