import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { splitCommandLine } from '../src/argv.js'
import { BIN, onCleanup, project, registerAgents, runCli, spawnCli } from './helpers.js'

const agent = fileURLToPath(new URL('./fixtures/answer.mjs', import.meta.url))
const command = (...extra: string[]) => [process.execPath, agent, ...extra].map((w) => `'${w}'`).join(' ')

describe('agent-comm bridge', () => {
  it('answers waiting messages with the command and acks them (--once)', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const { messageId } = await p.json<{ messageId: string }>([
      'send',
      'architect',
      'builder',
      'build it',
      '-s',
      'Task',
    ])
    const run = await p.run(['bridge', 'builder', '--command', `${command()} "two words" x\\ y`, '--once'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 processed, 1 succeeded, 0 failed')
    expect(run.stderr).toContain(`acked     ${messageId}`)
    const polled = await p.json<{ messages: { message: { body: string; subject: string } }[] }>([
      'poll',
      'architect',
    ])
    expect(polled.messages[0]?.message.subject).toBe('Re: Task')
    expect(JSON.parse(polled.messages[0]!.message.body)).toEqual({
      args: ['two words', 'x y'],
      body: 'build it',
      from: 'architect',
    })
    const status = await p.json<{ deliveries: { status: string }[] }>(['status', messageId])
    expect(status.deliveries[0]?.status).toBe('acked')
  })

  it('exits 1 when a message failed, and the message is nacked with the command’s error', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const { messageId } = await p.json<{ messageId: string }>(['send', 'architect', 'builder', 'impossible'])
    const run = await p.run(['bridge', 'builder', '--command', command('fail'), '--once', '--json'])
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stdout)).toMatchObject({ agent: 'builder', processed: 1, succeeded: 0, failed: 1 })
    const status = await p.json<{ deliveries: { status: string; lastError: string }[] }>([
      'status',
      messageId,
    ])
    expect(status.deliveries[0]).toMatchObject({ status: 'queued', lastError: 'cannot do: impossible' })
  })

  it('shows a failing command’s stderr escaped and bounded in its progress lines, and still nacks', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const hostile = `\u001b]0;PWNED\u0007\u001b[2J${'e'.repeat(100_000)} END`
    const { messageId } = await p.json<{ messageId: string }>(['send', 'architect', 'builder', hostile])
    const run = await p.run(['bridge', 'builder', '--command', command('fail'), '--once'])
    expect(run.code).toBe(1)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that no control character is printed
    expect(run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/)
    expect(run.stderr).not.toContain('warning')
    expect(run.stderr).toMatch(/FAILED: \[first \d+ characters cut\] …e+ END/)
    expect(run.stderr).toMatch(/nacked +msg_\S+: \[first \d+ characters cut\] …e+ END/)
    expect(run.stderr.length).toBeLessThan(20_000)
    const short = await p.json<{ messageId: string }>(['send', 'architect', 'builder', hostile.slice(0, 20)])
    const again = await p.run(['bridge', 'builder', '--command', command('fail'), '--once'])
    expect(again.stderr).toContain('cannot do: \\x1b]0;PWNED\\x07\\x1b[2Jeeeeee (')
    const status = await p.json<{ deliveries: { status: string; lastError: string }[] }>([
      'status',
      messageId,
    ])
    expect(status.deliveries[0]?.status).toBe('queued')
    expect(short.messageId).toMatch(/^msg_/)
  })

  it('never runs message text through a shell', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const marker = join(p.dir, 'pwned')
    await p.ok(['send', 'architect', 'builder', `; touch ${marker} $(touch ${marker}) \`touch ${marker}\``])
    expect((await p.run(['bridge', 'builder', '--command', command(), '--once'])).code).toBe(0)
    expect(existsSync(marker)).toBe(false)
  })

  it("keeps the agents' relay secrets from the command, unless --pass-env names one", async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const env = {
      ...p.env,
      AGENT_COMM_SECRET_BUILDER: 'acs_builder-secret',
      AGENT_COMM_A2A_TOKEN: 'a2a-token',
    }
    const answered = async (...flags: string[]) => {
      await p.ok(['send', 'architect', 'builder', 'what do you see?'])
      const cmd = command('env', 'AGENT_COMM_SECRET_BUILDER', 'AGENT_COMM_A2A_TOKEN', 'AGENT_COMM_DB_PATH')
      const run = await runCli(['bridge', 'builder', '--command', cmd, '--once', ...flags], {
        cwd: p.dir,
        env,
      })
      expect(run.code, run.stderr).toBe(0)
      const polled = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
      return JSON.parse(polled.messages[0]!.message.body) as Record<string, string | null>
    }
    expect(await answered()).toEqual({
      AGENT_COMM_SECRET_BUILDER: null,
      AGENT_COMM_A2A_TOKEN: null,
      AGENT_COMM_DB_PATH: p.db,
    })
    expect(await answered('--pass-env', 'AGENT_COMM_SECRET_BUILDER')).toMatchObject({
      AGENT_COMM_SECRET_BUILDER: 'acs_builder-secret',
      AGENT_COMM_A2A_TOKEN: null,
    })
  })

  it('leases each message for AGENT_COMM_LEASE_SECONDS unless --lease-seconds says otherwise', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const leased = async (env: Record<string, string>, flags: string[] = []) => {
      await p.ok(['send', 'architect', 'builder', 'how long is my lease?'])
      const run = await runCli(
        ['bridge', 'builder', '--command', `${command('lease', BIN)}`, '--once', ...flags],
        {
          cwd: p.dir,
          env: { ...p.env, ...env },
        },
      )
      expect(run.code, run.stderr).toBe(0)
      const { messages } = await p.json<{ messages: { message: { body: string } }[] }>(['poll', 'architect'])
      return Number(messages[0]?.message.body)
    }
    expect(await leased({})).toBe(60)
    expect(await leased({ AGENT_COMM_LEASE_SECONDS: '900' })).toBe(900)
    expect(await leased({ AGENT_COMM_LEASE_SECONDS: '900' }, ['--lease-seconds', '120'])).toBe(120)
  })

  it('checks reachability with --check (exit 0 or 1)', async () => {
    const p = project()
    const ok = await p.run(['bridge', 'builder', '--command', command(), '--check'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('reachable')
    const missing = await p.run(['bridge', 'builder', '--command', '/no/such/agent', '--check', '--json'])
    expect(missing.code).toBe(1)
    expect(JSON.parse(missing.stdout)).toMatchObject({
      available: false,
      reason: '/no/such/agent does not exist or is not executable',
    })
    const notOnPath = await p.run(['bridge', 'builder', '--command', 'nonexistent-prog', '--check'])
    expect(notOnPath.code).toBe(1)
    expect(notOnPath.stderr).toContain("Why: command 'nonexistent-prog' was not found on PATH")
    expect(notOnPath.stderr).toContain('Next: install the program or give its full path to --command')
  })

  it('gives a slow health check the time set with --health-timeout, then says it did not finish', async () => {
    const p = project()
    const hangs = `'${process.execPath}' -e 'setTimeout(() => {}, 60000)' --`
    const slow = await p.run(['bridge', 'builder', '--command', hangs, '--check', '--health-timeout', '0.2'])
    expect(slow.code).toBe(1)
    expect(slow.stderr).toMatch(/Why: the health check .* did not finish within 0\.2 s/)
    const withoutCheck = await p.run(['bridge', 'builder', '--command', hangs, '--health-timeout', '1'])
    expect(withoutCheck.code).toBe(2)
    expect(withoutCheck.stderr).toContain('--check')
  })

  it('refuses bad usage with exit 2', async () => {
    const p = project()
    expect((await p.run(['bridge', 'builder'])).code).toBe(2)
    expect((await p.run(['bridge', 'builder', '--command', 'x', '--webhook', 'http://h'])).code).toBe(2)
    const badUrl = await p.run(['bridge', 'builder', '--webhook', 'ftp://h', '--once'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toContain('--webhook must be an http(s) URL')
    const credentials = await p.run([
      'bridge',
      'builder',
      '--webhook',
      'http://user:s3cretpw@127.0.0.1:9/ok',
      '--once',
    ])
    expect(credentials.code).toBe(2)
    expect(credentials.stderr).toContain('must not contain credentials')
    expect(credentials.stderr).toMatch(/token in the URL's path or query/)
    const quote = await p.run(['bridge', 'builder', '--command', '"unclosed', '--once'])
    expect(quote.code).toBe(2)
    expect(quote.stderr).toContain('unclosed " quote')
  })

  it('sends the webhook its Authorization header from the environment, and shows neither it nor the path', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const seen: (string | undefined)[] = []
    const hook = createServer((req, res) => {
      seen.push(req.headers.authorization)
      req.resume()
      req.on('end', () =>
        res.writeHead(req.headers.authorization === 'Bearer h3ader-t0ken' ? 200 : 401).end('done'),
      )
    })
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
    onCleanup(() => new Promise<void>((resolve) => hook.close(() => resolve())))
    const port = (hook.address() as AddressInfo).port
    await p.ok(['send', 'architect', 'builder', 'build it'])
    const run = await runCli(
      ['bridge', 'builder', '--webhook', `http://127.0.0.1:${port}/hooks/p4th-t0ken`, '--once'],
      {
        cwd: p.dir,
        env: { ...p.env, AGENT_COMM_BRIDGE_WEBHOOK_AUTHORIZATION: 'Bearer h3ader-t0ken' },
      },
    )
    expect(run.code, run.stderr).toBe(0)
    expect(seen).toEqual(['Bearer h3ader-t0ken'])
    expect(run.stdout + run.stderr).not.toMatch(/t0ken/)
  })

  it('keeps answering until SIGTERM, then stops cleanly', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const child = spawnCli(['bridge', 'builder', '--command', command(), '--interval', '1'], {
      cwd: p.dir,
      env: p.env,
    })
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    let stdout = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    await expect.poll(() => stderr).toContain('Bridging builder')
    const { messageId } = await p.json<{ messageId: string }>([
      'send',
      'architect',
      'builder',
      'while running',
    ])
    await expect.poll(() => stderr).toContain(`acked     ${messageId}`)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdout).toContain('1 processed, 1 succeeded, 0 failed')
  })
})

describe('agent-comm bridge --json', () => {
  it('prints NDJSON to the end: one event per line, then a stopped line on SIGTERM', async () => {
    const p = project()
    await registerAgents(p, 'architect', 'builder')
    const child = spawnCli(['bridge', 'builder', '--command', command(), '--interval', '1', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    let stdout = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    const { messageId } = await p.json<{ messageId: string }>(['send', 'architect', 'builder', 'json please'])
    await expect.poll(() => stdout, { timeout: 20_000 }).toContain('"type":"acked"')
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdout.endsWith('\n')).toBe(true)
    const lines = stdout
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; messageId?: string })
    expect(lines.map((l) => l.type)).toEqual(['received', 'forwarded', 'replied', 'acked', 'stopped'])
    expect(lines[0]?.messageId).toBe(messageId)
    expect(lines.at(-1)).toMatchObject({ agent: 'builder', processed: 1, succeeded: 1, failed: 0 })
  })
})

describe('splitCommandLine', () => {
  it('splits like a shell for quoting but expands nothing', () => {
    expect(splitCommandLine(`node agent.js --name "two words" 'single $HOME' a\\ b "" end`)).toEqual([
      'node',
      'agent.js',
      '--name',
      'two words',
      'single $HOME',
      'a b',
      '',
      'end',
    ])
    expect(splitCommandLine('echo $(rm -rf ~); `x` | y > z')).toEqual([
      'echo',
      '$(rm',
      '-rf',
      '~);',
      '`x`',
      '|',
      'y',
      '>',
      'z',
    ])
    expect(splitCommandLine('  spaced   out  ')).toEqual(['spaced', 'out'])
    expect(() => splitCommandLine("it's")).toThrow(/unclosed ' quote/)
  })
})
