import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runCli, tempDir } from './helpers.js'

const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8')) as {
  commands: Record<string, { summary?: string; description?: string; hidden?: boolean }>
}

/** `text` with every run of white space (a wrapped line's break and indent) as one space. */
const flat = (text: string): string => text.replace(/\s+/g, ' ')

describe('the command listing of agent-comm --help', () => {
  it('prints every top-level command with its summary letter for letter', async () => {
    const help = await runCli(['--help'], { cwd: tempDir() })
    expect(help.code).toBe(0)
    const listing = flat(help.stdout.slice(help.stdout.indexOf('COMMANDS')))
    const topLevel = Object.entries(manifest.commands).filter(
      ([id, command]) => !id.includes(':') && command.hidden !== true,
    )
    expect(topLevel.length).toBeGreaterThan(20)
    for (const [id, command] of topLevel) {
      const summary = (command.summary ?? command.description ?? '').split('\n')[0]!
      expect(listing, `the listing's line of ${id}`).toContain(flat(` ${id} ${summary}`))
    }
  })

  it('keeps letters that an ANSI colour code begins with (the bundled oclif strips colours to measure)', async () => {
    // The bundled oclif's colour stripper once matched "u" or "b" followed by c, f-n, q, r or y, and ate
    // them: "Run" read "R", "webhook" "weook", "subject" "suect".
    const help = await runCli(['--help'], { cwd: tempDir() })
    for (const word of ['Run a two-agent', 'webhook', 'human console', 'by words in subject'])
      expect(flat(help.stdout)).toContain(word)
  })
})
