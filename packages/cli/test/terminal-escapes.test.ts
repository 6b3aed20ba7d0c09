import { describe, expect, it } from 'vitest'
import { safeBlock, safeLine } from '../src/terminal-text.js'
import { type Project, project, registerAgents } from './helpers.js'

// What a hostile agent puts in its subjects, bodies, device names and nack reasons: clear the screen, set
// the window title, write the clipboard (OSC 52), a one-byte CSI, DEL, a bidi override and a bare CR.
const CLEAR = '\u001b[2J\u001b[H'
const TITLE = '\u001b]0;pwned\u0007'
const CLIPBOARD = '\u001b]52;c;cm0gLXJmIH4=\u001b\\'
const HOSTILE = `${CLEAR}${TITLE}${CLIPBOARD}\u009b31m\u007f\u202eevil\rover`

/** Any control character a terminal could act on; line feeds are the only ones text output may hold. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these characters
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u

function expectInert(text: string): void {
  expect(text).not.toMatch(RAW_CONTROL)
}

describe('terminal text', () => {
  it('shows every control character of a line escaped', () => {
    expect(safeLine('a\u001b[2Jb')).toBe('a\\x1b[2Jb')
    expect(safeLine('x\u0007\u007f\u009b\u202e\r\n\ty')).toBe('x\\x07\\x7f\\x9b\\u202e\\r\\n\\ty')
    expect(safeLine('plain — ünïcödé 😀 text')).toBe('plain — ünïcödé 😀 text')
  })

  it('keeps the lines and tabs of a body and escapes the rest', () => {
    expect(safeBlock('one\r\ntwo\n\tthree\u001b]52;c;x\u0007')).toBe('one\ntwo\n\tthree\\x1b]52;c;x\\x07')
    expect(safeBlock('progress 50%\rdone')).toBe('progress 50%\\rdone')
  })
})

describe('text output of remote content', () => {
  /** A database holding a hostile agent, a hostile message to agent-b and a hostile dead letter. */
  async function hostileProject(): Promise<{ p: Project; id: string; conversation: string }> {
    const p = project()
    await registerAgents(p, 'agent-b')
    await p.ok(['register', 'agent-a', '-c', 'send', '-d', `lab${HOSTILE}`])
    const sent = await p.json<{ messageId: string; conversationId: string }>([
      'send',
      'agent-a',
      'agent-b',
      `body${HOSTILE}\nsecond line`,
      '-s',
      `subject${HOSTILE}`,
      '--payload-type',
      'text',
      '--payload',
      JSON.stringify({ note: HOSTILE }),
    ])
    return { p, id: sent.messageId, conversation: sent.conversationId }
  }

  it('escapes control characters in every command that prints them, and --json keeps them exact', async () => {
    const { p, id, conversation } = await hostileProject()
    const outputs: Record<string, string> = {}
    const text = async (name: string, args: string[]): Promise<void> => {
      const run = await p.ok(args)
      outputs[name] = run.stdout + run.stderr
    }
    await text('agents', ['agents'])
    await text('status', ['status', id])
    await text('search', ['search', 'body'])
    await text('conversations', ['conversations'])
    await text('conversation', ['conversation', conversation])
    await text('poll', ['poll', 'agent-b'])
    await text('heartbeat', ['heartbeat', 'agent-a'])
    await p.ok(['nack', id, 'agent-b', '--reason', `crashed${HOSTILE}`, '--dead-letter'])
    await text('failed', ['failed'])
    await text('status after nack', ['status', id])
    for (const [name, output] of Object.entries(outputs)) {
      expect(output, name).toContain('\\x1b')
      expectInert(output)
    }
    expect(outputs.poll).toContain('Body: body\\x1b[2J')
    expect(outputs.poll).toContain('\n        second line')
    expect(outputs.failed).toContain('last error: crashed\\x1b[2J')

    const json = await p.json<{
      message: { subject: string; body: string }
      deliveries: { lastError: string }[]
    }>(['status', id])
    expect(json.message.subject).toBe(`subject${HOSTILE}`)
    expect(json.message.body).toBe(`body${HOSTILE}\nsecond line`)
    expect(json.deliveries[0]?.lastError).toBe(`crashed${HOSTILE}`)
    const agents = await p.json<{ agents: { agentId: string; device: string }[] }>(['agents'])
    expect(agents.agents.find((a) => a.agentId === 'agent-a')?.device).toBe(`lab${HOSTILE}`)
  })

  it('escapes control characters in an error message', async () => {
    const p = project()
    await registerAgents(p, 'agent-a')
    const run = await p.run(['status', `msg${CLEAR}`])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain('\\x1b[2J')
    expectInert(run.stderr)
  })
})
