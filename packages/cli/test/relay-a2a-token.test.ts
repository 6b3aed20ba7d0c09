import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

describe('agent-comm relay a2a-token', () => {
  it('creates a token shown once, lists callers without tokens, refuses a second one and revokes', async () => {
    const dir = tempDir()
    const env = cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: join(dir, 'relay') })
    const run = (args: readonly string[]) => runCli(['relay', 'a2a-token', ...args], { cwd: dir, env })
    const created = await run(['create', 'acme', '--agents', 'helper,reviewer'])
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    expect(token).toMatch(/^a2a_[A-Za-z0-9_-]{43}$/)
    expect(created.stderr).toContain('a2a:acme')
    const list = await run(['list', '--json'])
    expect(list.stdout).not.toContain(token)
    expect(JSON.parse(list.stdout).tokens).toMatchObject([{ name: 'acme', agents: ['helper', 'reviewer'] }])
    const again = await run(['create', 'acme'])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('agent-comm relay a2a-token revoke acme')
    expect(JSON.parse((await run(['revoke', 'acme', '--json'])).stdout)).toEqual({
      action: 'revoke',
      revoked: true,
    })
    expect((await run(['create'])).code).toBe(2)
  })

  it('lists and rotates the push-signing key (relay a2a-key): ids only, the old key kept for its grace period', async () => {
    const dir = tempDir()
    const env = cleanEnv({ AGENT_COMM_RELAY_DATA_DIR: join(dir, 'relay') })
    const key = (args: readonly string[], extra: Record<string, string> = {}) =>
      runCli(['relay', 'a2a-key', ...args], { cwd: dir, env: { ...env, ...extra } })
    const none = await key(['list'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('No relay data')
    expect((await runCli(['relay', 'a2a-token', 'create', 'acme'], { cwd: dir, env })).code).toBe(0)
    const first = JSON.parse((await key(['list', '--json'])).stdout)
    expect(first.keys).toEqual([{ kid: expect.any(String), current: true }])
    const rotated = await key(['rotate', '--json'])
    expect(rotated.code).toBe(0)
    const result = JSON.parse(rotated.stdout)
    expect(result.rotatedTo).not.toBe(first.keys[0].kid)
    expect(result.keys).toEqual(
      expect.arrayContaining([
        { kid: result.rotatedTo, current: true },
        { kid: first.keys[0].kid, current: false },
      ]),
    )
    expect(rotated.stdout).not.toMatch(/"d"|PRIVATE/)
    const text = await key(['list'])
    expect(text.stdout).toContain(`${result.rotatedTo}  (current)`)
    expect(text.stdout).toContain(`${first.keys[0].kid}  (grace period)`)
    // Another secrets key cannot open the sealed private key: refused, nothing replaced.
    const wrong = await key(['rotate'], {
      AGENT_COMM_RELAY_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
    })
    expect(wrong.code).not.toBe(0)
    expect(JSON.parse((await key(['list', '--json'])).stdout).keys).toHaveLength(2)
    // A relay run with its key in the environment: without that key the command refuses, making no key file.
    rmSync(join(dir, 'relay', 'secrets.key'))
    const keyless = await key(['list'])
    expect(keyless.code).toBe(2)
    expect(keyless.stderr).toContain('AGENT_COMM_RELAY_SECRETS_KEY')
    expect(existsSync(join(dir, 'relay', 'secrets.key'))).toBe(false)
  })

  it('opts an agent in to A2A with --a2a-skill and refuses a bad skill id', async () => {
    const dir = tempDir()
    const env = cleanEnv()
    const ok = await runCli(
      [
        'register',
        'helper',
        '-c',
        'answer',
        '-d',
        'here',
        '--a2a-skill',
        'answer|Answer questions|qa,faq',
        '--json',
      ],
      { cwd: dir, env },
    )
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout).agent.metadata.a2a).toEqual({
      skills: [{ id: 'answer', name: 'Answer questions', tags: ['qa', 'faq'] }],
    })
    const bad = await runCli(['register', 'helper', '-c', 'x', '-d', 'here', '--a2a-skill', 'no spaces'], {
      cwd: dir,
      env,
    })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('--a2a-skill')
  })
})

describe('agent-comm bridge --a2a', () => {
  it('takes the card URL from register --a2a-url, and says how to set it when missing', async () => {
    const dir = tempDir()
    const env = cleanEnv()
    const url = 'http://127.0.0.1:9/.well-known/agent-card.json'
    expect(
      (await runCli(['register', 'partner', '-c', 'x', '-d', 'y', '--a2a-url', url], { cwd: dir, env })).code,
    ).toBe(0)
    const check = await runCli(['bridge', 'partner', '--a2a', '--check'], { cwd: dir, env })
    expect(check.code).toBe(1)
    expect(check.stdout).toContain(`a2a ${url}: NOT reachable`)
    expect(check.stderr).toContain(`Why: The A2A agent card at ${url} is unreachable`)
    expect(check.stderr).toContain('Next: Check the --a2a-url given to agent-comm register')
    const missing = await runCli(['bridge', 'other', '--a2a', '--check'], { cwd: dir, env })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--a2a-url')
  })
})
