import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { RelaySecretsKey } from '@agent-comm/postgres/secrets-key'
import { describe, expect, it } from 'vitest'
import { RELAY_DB_FILE, relayConfig, startRelay } from '../src/index.js'
import { createRelayLogger } from '../src/logger.js'
import { tempDir } from './helpers.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

/** Starts a relay on `dataDir` with its log lines collected. */
async function startOn(dataDir: string, secretsKeyFile?: string) {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const relay = await startRelay(
    relayConfig({ dataDir, port: 0, ...(secretsKeyFile === undefined ? {} : { secretsKeyFile }) }),
    {
      logger: createRelayLogger({ level: 'warn', destination }),
    },
  )
  return { relay, lines }
}

describe.skipIf(process.platform === 'win32')('the data folder', () => {
  it('creates relay.db and its -wal and -shm files 0600 in a folder that already existed, warning about the folder', async () => {
    const dataDir = join(tempDir(), 'relay')
    mkdirSync(dataDir, { mode: 0o755 })
    chmodSync(dataDir, 0o755)
    const { relay, lines } = await startOn(dataDir)
    try {
      const db = join(dataDir, RELAY_DB_FILE)
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(modeOf(file), file).toBe(0o600)
      expect(lines.join('')).toContain('chmod 700')
    } finally {
      await relay.close()
    }
  })

  it('restricts a database left group- and world-readable by an earlier run, and is quiet about a 0700 folder', async () => {
    const dataDir = join(tempDir(), 'relay')
    mkdirSync(dataDir, { mode: 0o700 })
    const db = join(dataDir, RELAY_DB_FILE)
    const first = await startOn(dataDir)
    await first.relay.close()
    for (const file of [db, `${db}-wal`]) {
      writeFileSync(file, '', { flag: 'a' })
      chmodSync(file, 0o644)
    }
    const { relay, lines } = await startOn(dataDir)
    try {
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(modeOf(file), file).toBe(0o600)
      expect(lines.join('')).not.toContain('chmod 700')
    } finally {
      await relay.close()
    }
  })
  it('warns at start about a --secrets-key-file that other users may read, naming it and the chmod, never the key; and is quiet about a 0600 one', async () => {
    const dataDir = join(tempDir(), 'relay')
    const keyFile = join(tempDir(), 'relay.key')
    const key = RelaySecretsKey.generate().toBase64()
    writeFileSync(keyFile, `${key}\n`)
    chmodSync(keyFile, 0o644)
    const loose = await startOn(dataDir, keyFile)
    await loose.relay.close()
    const warned = loose.lines.join('')
    expect(warned).toContain(`the secrets key file ${keyFile} is readable by other users`)
    expect(warned).toContain(`chmod 600 ${keyFile}`)
    expect(warned).not.toContain(key)
    // Left as it was: the file is the operator's (a mounted Secret may be read-only).
    expect(modeOf(keyFile)).toBe(0o644)

    chmodSync(keyFile, 0o600)
    const tight = await startOn(dataDir, keyFile)
    await tight.relay.close()
    expect(tight.lines.join('')).not.toContain('secrets key file')
  })

  it('refuses a data folder it cannot create, under /proc too, naming it, instead of hanging', async () => {
    // Node's recursive mkdir retries forever under /proc (ENOENT at every level), deaf to signals.
    await expect(startOn('/proc/agent-comm-test/relay')).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining("Cannot create the relay's data folder /proc/agent-comm-test/relay"),
      hint: expect.stringContaining('--data-dir'),
    })
  })
})
