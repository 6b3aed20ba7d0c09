import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnv, exited, firstLine, project, runCli, spawnCli, tempDir } from './helpers.js'

describe('agent-comm console', () => {
  it('refuses a missing database like every command but register, and creates nothing', async () => {
    const dir = tempDir()
    const db = join(dir, 'typo', 'coordination.db')
    const run = await runCli(['console', '--port', '0', '--db', db], { cwd: dir, env: cleanEnv() })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`Error: No agent-comm database at ${db}`)
    expect(existsSync(join(dir, 'typo'))).toBe(false)
  })

  it('prints its URL and a one-time login link on 127.0.0.1, serves the page, and stops on SIGTERM', async () => {
    const p = project()
    await p.ok(['stats', '--create'])
    const child = spawnCli(['console', '--port', '0', '--json'], { cwd: p.dir, env: p.env })
    const printed = JSON.parse(await firstLine(child)) as { url: string; baseUrl: string; loginUrl: string }
    const { baseUrl: url, loginUrl } = printed
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    // `url` is the page itself, as the text output names it.
    expect(printed.url).toBe(`${url}/console/`)
    expect(loginUrl).toMatch(new RegExp(`^${url}/console/#token=[\\w-]{20,}$`))
    const page = await fetch(printed.url)
    expect(page.status).toBe(200)
    // The bare address leads to the page rather than a JSON 404.
    const root = await fetch(`${url}/`, { redirect: 'manual' })
    expect(root.status).toBe(302)
    expect(root.headers.get('location')).toBe('/console/')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const token = loginUrl.split('#token=')[1]!
    const signIn = (body: unknown) =>
      fetch(`${url}/api/v1/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const first = await signIn({ token })
    expect(first.status).toBe(200)
    // A cookie name of its own: a relay console on this host (agent_comm_session) keeps its session.
    expect(first.headers.get('set-cookie')).toMatch(/^agent_comm_local_console_[0-9a-f]{12}=/)
    expect(await first.json()).toMatchObject({ agentId: 'admin', admin: true })
    expect((await signIn({ token })).status).toBe(401)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })

  it('opens the one-time login link in the browser with --open ($BROWSER here)', async () => {
    const p = project()
    await p.ok(['stats', '--create'])
    // A stand-in browser: writes the URL it was given to a file.
    const opened = join(p.dir, 'opened.txt')
    const browser = join(p.dir, 'fake-browser.sh')
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`)
    chmodSync(browser, 0o755)
    const child = spawnCli(['console', '--port', '0', '--open', '--json'], {
      cwd: p.dir,
      env: { ...p.env, BROWSER: browser },
    })
    const { loginUrl } = JSON.parse(await firstLine(child)) as { loginUrl: string }
    await expect
      .poll(() => (existsSync(opened) ? readFileSync(opened, 'utf8') : ''), { timeout: 60_000 })
      .toBe(loginUrl)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })

  it('refuses --as with an invalid or unregistered agent id before it listens, saying what to do', async () => {
    const p = project()
    await p.ok(['register', 'lead', '-c', 'human-review', '-d', 'local', '--create'])
    const invalid = await runCli(['console', '--port', '0', '--as', 'bad id!'], { cwd: p.dir, env: p.env })
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain("Invalid agent id 'bad id!'")
    expect(invalid.stdout).not.toContain('token=')
    const typo = await runCli(['console', '--port', '0', '--as', 'laed'], { cwd: p.dir, env: p.env })
    expect(typo.code).toBe(3)
    expect(typo.stderr).toContain("Agent 'laed' not registered")
    expect(typo.stderr).toContain('agent-comm agents')
    expect(`${typo.stdout}${typo.stderr}`).not.toContain('token=')
  })

  it('exits 1 when its port is taken, suggesting a command that runs as printed', async () => {
    const p = project()
    await p.ok(['stats', '--create'])
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      const run = await runCli(['console', '--port', String(port)], { cwd: p.dir, env: p.env })
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(
        `Error: The console cannot listen on 127.0.0.1:${port}: the address is already in use\nStop what uses it, or choose another port (0 picks a free one): agent-comm console --port <port>\n`,
      )
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
