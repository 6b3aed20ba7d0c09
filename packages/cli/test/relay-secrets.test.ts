import { statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

/** Runs `agent-comm relay <args>` in a fresh folder whose relay data folder is `<dir>/relay`. */
function relayCli() {
  const dir = tempDir()
  const dataDir = join(dir, 'relay')
  const run = (args: readonly string[]) =>
    runCli(['relay', ...args], { cwd: dir, env: cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: dataDir }) })
  return { dir, dataDir, run }
}

describe('agent-comm relay gen-secret', () => {
  it('prints the secret once, in the export line, and stores it in a 0600 file', async () => {
    const { dataDir, run } = relayCli()
    const gen = await run(['gen-secret', 'agent-b'])
    expect(gen.code).toBe(0)
    const match = /^export AGENT_COMM_SECRET_AGENT_B=(acs_[A-Za-z0-9_-]{43})\n$/.exec(gen.stdout)
    expect(match).not.toBeNull()
    const secret = match![1]!
    // 32 random bytes, base64url.
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32)
    expect(`${gen.stdout}${gen.stderr}`.split(secret)).toHaveLength(2)
    expect(gen.stderr).toContain('shown only this once')
    expect(gen.stderr).toContain(join(dataDir, 'secrets.json'))
    if (process.platform !== 'win32') {
      expect(statSync(join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600)
      expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    }

    const list = await run(['list-secrets'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/agent-b {2}created \d{4}-\d\d-\d\dT[\d:.]+Z {2}AGENT_COMM_SECRET_AGENT_B\n/)
    const listJson = await run(['list-secrets', '--json'])
    expect(JSON.parse(listJson.stdout)).toEqual({
      count: 1,
      secrets: [
        {
          agentId: 'agent-b',
          createdAt: expect.any(String),
          activeSecrets: 1,
          envVar: 'AGENT_COMM_SECRET_AGENT_B',
        },
      ],
    })
    for (const out of [list, listJson]) {
      expect(out.stdout + out.stderr).not.toContain(secret)
      expect(out.stdout + out.stderr).not.toContain('acs_')
    }
  })

  it('prints { agentId, secret, createdAt, envVar } with --json', async () => {
    const { run } = relayCli()
    const gen = await run(['gen-secret', 'Remote.Agent-1', '--json'])
    expect(gen.code).toBe(0)
    expect(gen.stderr).toBe('')
    const doc = JSON.parse(gen.stdout) as Record<string, string>
    expect(doc).toEqual({
      agentId: 'Remote.Agent-1',
      secret: expect.stringMatching(/^acs_[A-Za-z0-9_-]{43}$/),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      // Capitals and a dot: a hex-encoded name, so it never shares remote-agent-1's variable.
      envVar: 'AGENT_COMM_SECRET__52656D6F74652E4167656E742D31',
    })
    const plain = await run(['gen-secret', 'Remote.Agent-2'])
    expect(plain.stdout).toMatch(/^export AGENT_COMM_SECRET__[0-9A-F]+=acs_/)
    expect(plain.stderr).toContain('hex-encoded')
    expect(plain.stderr).toContain('remote-agent-2')
    expect((await run(['gen-secret', 'remote-agent-1'])).stderr).not.toContain('hex-encoded')
  })

  it('refuses a second secret (exit 4) unless --rotate, --replace or --force', async () => {
    const { run } = relayCli()
    const first = JSON.parse((await run(['gen-secret', 'agent-b', '--json'])).stdout) as { secret: string }
    const again = await run(['gen-secret', 'agent-b'])
    expect(again.code).toBe(4)
    expect(again.stdout).toBe('')
    expect(again.stderr).toMatch(/^Error: Agent 'agent-b' already has a relay secret\n.*--rotate.*--replace/)

    const rotated = await run(['gen-secret', 'agent-b', '--rotate', '--grace-seconds', '60', '--json'])
    expect(rotated.code).toBe(0)
    const doc = JSON.parse(rotated.stdout) as {
      secret: string
      createdAt: string
      previousValidUntil: string
    }
    expect(doc.secret).not.toBe(first.secret)
    expect(Date.parse(doc.previousValidUntil) - Date.parse(doc.createdAt)).toBe(60_000)
    const listed = JSON.parse((await run(['list-secrets', '--json'])).stdout) as {
      secrets: { activeSecrets: number; previousValidUntil?: string }[]
    }
    expect(listed.secrets[0]).toMatchObject({ activeSecrets: 2, previousValidUntil: doc.previousValidUntil })

    for (const flag of ['--replace', '--force']) {
      const replaced = await run(['gen-secret', 'agent-b', flag, '--json'])
      expect(replaced.code).toBe(0)
      const listedAfter = JSON.parse((await run(['list-secrets', '--json'])).stdout) as {
        secrets: { activeSecrets: number }[]
      }
      expect(listedAfter.secrets[0]!.activeSecrets).toBe(1)
    }
  })

  it('rejects bad usage with exit 2', async () => {
    const { run } = relayCli()
    const badId = await run(['gen-secret', 'no spaces!'])
    expect(badId.code).toBe(2)
    expect(badId.stderr).toMatch(/^Error: Invalid agent id/)
    const graceAlone = await run(['gen-secret', 'agent-b', '--grace-seconds', '5'])
    expect(graceAlone.code).toBe(2)
    expect(graceAlone.stderr).toMatch(/--grace-seconds: --rotate/)
    const both = await run(['gen-secret', 'agent-b', '--rotate', '--replace'])
    expect(both.code).toBe(2)
  })

  it('takes --data-dir over AGENT_COMM_RELAY_DATA_DIR, and ./data/relay without either', async () => {
    const { dir, run } = relayCli()
    expect((await run(['gen-secret', 'a', '--data-dir', 'elsewhere'])).code).toBe(0)
    expect(statSync(join(dir, 'elsewhere', 'secrets.json')).isFile()).toBe(true)
    const plain = await runCli(['relay', 'gen-secret', 'a'], { cwd: dir, env: cleanEnv() })
    expect(plain.code).toBe(0)
    expect(statSync(join(dir, 'data', 'relay', 'secrets.json')).isFile()).toBe(true)
    const none = await run(['list-secrets'])
    expect(none.stdout).toMatch(/^No relay secrets in .*relay[/\\]secrets\.json/)
  })
})

describe('agent-comm relay revoke-secret', () => {
  it('revokes every secret of an agent', async () => {
    const { run } = relayCli()
    await run(['gen-secret', 'agent-b'])
    await run(['gen-secret', 'agent-b', '--rotate'])
    const revoked = await run(['revoke-secret', 'agent-b', '--json'])
    expect(revoked.code).toBe(0)
    expect(JSON.parse(revoked.stdout)).toEqual({ agentId: 'agent-b', revoked: 2 })
    expect(JSON.parse((await run(['list-secrets', '--json'])).stdout)).toEqual({ count: 0, secrets: [] })
  })

  it('exits 3 for an agent without a secret', async () => {
    const { dataDir, run } = relayCli()
    const unknown = await run(['revoke-secret', 'nobody'])
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toBe(
      `Error: Agent 'nobody' has no relay secret in ${join(dataDir, 'secrets.json')}\nCreate one: agent-comm relay gen-secret nobody\n`,
    )
    const json = await run(['revoke-secret', 'nobody', '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout).error.code).toBe('AGENT_NOT_FOUND')
    expect((await run(['gen-secret', 'nobody', '--rotate'])).code).toBe(3)
  })
})
