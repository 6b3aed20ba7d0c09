import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runCli, tempDir } from './helpers.js'

interface ManifestArg {
  name: string
  required?: boolean
  multiple?: boolean
}
const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8')) as {
  commands: Record<string, { strict?: boolean; args: Record<string, ManifestArg> }>
}

describe('the help of commands with arguments', () => {
  it('shows ack’s message id and agent as required and only the ids after them as variadic', async () => {
    const help = await runCli(['ack', '--help'], { cwd: tempDir() })
    expect(help.code).toBe(0)
    const section = help.stdout.slice(help.stdout.indexOf('ARGUMENTS'), help.stdout.indexOf('FLAGS'))
    expect(section).toMatch(/^ {2}MESSAGE-ID {2,}id of the message/m)
    expect(section).toMatch(/^ {2}AGENT {2,}agent that received it/m)
    expect(section).toMatch(/^ {2}\[MORE-IDS\.\.\.\] {2,}more ids/m)
    expect(help.stdout).toContain('$ agent-comm ack MESSAGE-ID AGENT [MORE-IDS...]')
  })

  it('never marks every argument of a command variadic and optional (strict = false): a variadic argument says so itself', () => {
    for (const [id, command] of Object.entries(manifest.commands)) {
      expect(command.strict, `${id}: declare the variadic argument with multiple: true`).not.toBe(false)
      const args = Object.values(command.args)
      const variadic = args.findIndex((arg) => arg.multiple === true)
      if (variadic === -1) continue
      expect(variadic, `${id}: the variadic argument comes last`).toBe(args.length - 1)
      for (const arg of args.slice(0, variadic))
        expect(arg.required, `${id}: ${arg.name} before the variadic argument is required`).toBe(true)
    }
  })
})
