import { MCP_HTTP_DEFAULTS } from '@agent-comm/mcp/defaults'
import { describe, expect, it } from 'vitest'
import Console from '../src/commands/console.js'
import { runCli, tempDir } from './helpers.js'

describe('the default ports of the local servers', () => {
  it('gives the console and the MCP HTTP server different ports, so both run at once', () => {
    expect(Console.flags.port.default).toBe(8421)
    expect(MCP_HTTP_DEFAULTS.port).toBe(8422)
    expect(Console.flags.port.default).not.toBe(MCP_HTTP_DEFAULTS.port)
  })

  it('shows the console’s own default port in console --help', async () => {
    const help = await runCli(['console', '--help'], { cwd: tempDir() })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--port=<value>\s+\[default: 8421\]/)
    expect(help.stdout).not.toContain('8422')
  })

  it('shows the MCP server’s own default port in mcp --help', async () => {
    const help = await runCli(['mcp', '--help'], { cwd: tempDir() })
    expect(help.code).toBe(0)
    const text = help.stdout.replace(/\s+/g, ' ') // help wraps its lines at the terminal's width
    expect(text).toContain('(default 8422)')
    expect(text).toContain('127.0.0.1:8422 by default')
    expect(help.stdout).not.toContain('8421')
  })
})
