import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hoistGlobalFlags } from '../src/argv.js'
import { closestWord } from '../src/closest.js'
import { cleanEnv, runCli, tempDir } from './helpers.js'

describe('global flags before the command', () => {
  it('takes --db and --json before the command as after it', async () => {
    const dir = tempDir()
    const env = cleanEnv()
    const reg = await runCli(['--db', 'first.db', 'register', 'a', '-c', 'x', '-d', 'l'], { cwd: dir, env })
    expect(reg.code).toBe(0)
    expect(existsSync(join(dir, 'first.db'))).toBe(true)
    const agents = await runCli(['--json', '--db=first.db', 'agents'], { cwd: dir, env })
    expect(agents.code).toBe(0)
    expect(JSON.parse(agents.stdout)).toMatchObject({ count: 1, agents: [{ agentId: 'a' }] })
    // --create is a global flag too: before the command as after it.
    const created = await runCli(['--db', 'second.db', '--create', 'stats'], { cwd: dir, env })
    expect(created.code, created.stderr).toBe(0)
    expect(existsSync(join(dir, 'second.db'))).toBe(true)
  })

  it('moves them past a topic and its command, and leaves other lines alone', () => {
    const topics = new Set(['relay'])
    expect(hoistGlobalFlags(['--db', 'x.db', 'agents', '--limit', '2'], topics)).toEqual([
      'agents',
      '--db',
      'x.db',
      '--limit',
      '2',
    ])
    expect(hoistGlobalFlags(['--json', 'relay', 'list-secrets'], topics)).toEqual([
      'relay',
      'list-secrets',
      '--json',
    ])
    expect(hoistGlobalFlags(['--db', 'x.db', '--create', 'stats'], topics)).toEqual([
      'stats',
      '--db',
      'x.db',
      '--create',
    ])
    expect(
      hoistGlobalFlags(['--create', '--allow-foreign-tables', '--db', 'x.db', 'agents'], topics),
    ).toEqual(['agents', '--create', '--allow-foreign-tables', '--db', 'x.db'])
    expect(hoistGlobalFlags(['--json', '--version'], topics)).toEqual(['--json', '--version'])
    expect(hoistGlobalFlags(['--help'], topics)).toEqual(['--help'])
    expect(hoistGlobalFlags(['send', 'a', 'b', 'hi'], topics)).toEqual(['send', 'a', 'b', 'hi'])
  })

  it('asks `help <command>` as `<command> --help`, without the global flags, and global flags alone as the overview', () => {
    const topics = new Set(['relay'])
    const commands = new Set(['send', 'relay:start'])
    expect(hoistGlobalFlags(['--db', 'x.db', 'help', 'send'], topics, commands)).toEqual(['send', '--help'])
    expect(hoistGlobalFlags(['--json', 'help', 'relay', 'start'], topics, commands)).toEqual([
      'relay',
      'start',
      '--help',
    ])
    expect(hoistGlobalFlags(['help', 'sned'], topics, commands)).toEqual(['sned'])
    expect(hoistGlobalFlags(['help'], topics, commands)).toEqual(['help'])
    expect(hoistGlobalFlags(['--db', 'x.db'], topics, commands)).toEqual([])
  })

  it('answers global flags before `help`, `help <typo>` and global flags alone as a person expects', async () => {
    const env = cleanEnv()
    const dir = tempDir()
    const help = await runCli(['--db', 'x.db', 'help', 'send'], { cwd: dir, env })
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('agent-comm send FROM TO')
    const json = await runCli(['--json', 'help', 'send'], { cwd: dir, env })
    expect(json.code).toBe(0)
    expect(json.stderr).not.toContain('Error')
    const alone = await runCli(['--db', 'x.db'], { cwd: dir, env })
    expect(alone.code).toBe(0)
    expect(alone.stdout).toContain('COMMANDS')
    const typo = await runCli(['help', 'sned'], { cwd: dir, env })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain("Did you mean 'send'?")
  })
})

describe('help', () => {
  it('answers -h and `help <command>` with the command’s help', async () => {
    for (const argv of [
      ['send', '-h'],
      ['help', 'send'],
      ['help', 'relay', 'start'],
    ]) {
      const run = await runCli(argv, { env: cleanEnv() })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('USAGE')
      expect(run.stdout).toContain(`$ agent-comm ${argv.at(-1) === 'start' ? 'relay start' : 'send'}`)
    }
  })
})

describe('a mistyped command', () => {
  it('suggests the closest command and exits 2, without running anything', async () => {
    const run = await runCli(['sned', 'a', 'b', 'hi'], { env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      "Error: 'sned' is not an agent-comm command. Did you mean 'send'?\nSee the commands: agent-comm --help\n",
    )
  })

  it("points a topic's unknown command to the topic's help, which lists its commands", async () => {
    const run = await runCli(['relay', 'sned'], { env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      "Error: 'relay sned' is not an agent-comm command.\nSee the commands: agent-comm relay --help\n",
    )
    const help = await runCli(['relay', '--help'], { env: cleanEnv() })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('relay start')
  })

  it('answers --json with the error document, a topic command included', async () => {
    const run = await runCli(['relay', 'strat', '--json'], { env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'VALIDATION',
        message: "'relay strat' is not an agent-comm command. Did you mean 'relay start'?",
        hint: 'See the commands: agent-comm relay --help',
      },
    })
  })

  it('suggests the subcommand of a command that is also a topic (mcp instal), with or without --json', async () => {
    const run = await runCli(['mcp', 'instal', '--client', 'codex'], { env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      "Error: 'mcp instal' is not an agent-comm command. Did you mean 'mcp install'?\nSee the commands: agent-comm mcp --help\n",
    )
    const json = await runCli(['mcp', 'doctr', '--json'], { env: cleanEnv() })
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error.message).toBe(
      "'mcp doctr' is not an agent-comm command. Did you mean 'mcp doctor'?",
    )
  })

  it('says a command takes no argument, rather than that it does not exist', async () => {
    for (const [argv, expected] of [
      [
        ['mcp', 'install', 'claude-code'],
        'Unexpected argument: claude-code\nSee the usage: agent-comm mcp install --help',
      ],
      [
        ['agents', 'extra', 'words'],
        'Unexpected arguments: extra, words\nSee the usage: agent-comm agents --help',
      ],
    ] as const) {
      const run = await runCli([...argv], { env: cleanEnv() })
      expect(run.code).toBe(2)
      expect(run.stderr).toBe(`Error: ${expected}\n`)
    }
  })

  it('says a mistyped flag does not exist and suggests the nearest flag of the command', async () => {
    for (const [argv, expected] of [
      [
        ['poll', 'builder', '--lese-seconds', '30'],
        'Nonexistent flag: --lese-seconds (did you mean --lease-seconds?)\nSee the usage: agent-comm poll --help',
      ],
      [
        ['poll', 'builder', '--lese-seconds=30', '--wiat', '3', '-z'],
        'Nonexistent flags: --lese-seconds=30 (did you mean --lease-seconds?), --wiat (did you mean --wait?), -z\nSee the usage: agent-comm poll --help',
      ],
      [
        ['agents', '--dbb', 'x.db'],
        'Nonexistent flag: --dbb (did you mean --db?)\nSee the usage: agent-comm agents --help',
      ],
      [['agents', '--xyzzyxyzzy'], 'Nonexistent flag: --xyzzyxyzzy\nSee the usage: agent-comm agents --help'],
    ] as const) {
      const run = await runCli([...argv], { env: cleanEnv() })
      expect(run.code).toBe(2)
      expect(run.stderr).toBe(`Error: ${expected}\n`)
    }
    const json = await runCli(['poll', 'builder', '--lese-seconds', '30', '--json'], { env: cleanEnv() })
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'VALIDATION',
      message: 'Nonexistent flag: --lese-seconds (did you mean --lease-seconds?)',
    })
  })

  it('suggests nothing when no command is near', () => {
    expect(closestWord('xyzzy', ['send', 'poll', 'ack'])).toBeUndefined()
    expect(closestWord('pol', ['send', 'poll', 'ack'])).toBe('poll')
    expect(closestWord('conversatoins', ['conversation', 'conversations'])).toBe('conversations')
  })
})

describe('shell completion', () => {
  it('prints setup instructions, and its bash script completes commands and flags', async () => {
    const cache = tempDir()
    const env = cleanEnv({ XDG_CACHE_HOME: cache, HOME: cache })
    const help = await runCli(['autocomplete', 'bash'], { env })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('agent-comm autocomplete script bash')
    const script = await runCli(['autocomplete', 'script', 'bash'], { env })
    expect(script.code).toBe(0)
    const functions = join(cache, 'agent-comm/autocomplete/functions/bash/agent-comm.bash')
    const complete = (...words: string[]): string =>
      execFileSync(
        'bash',
        [
          '-c',
          `source '${functions}'; COMP_WORDS=(agent-comm ${words.join(' ')}); COMP_CWORD=${words.length}; _agent-comm_autocomplete; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      ).trim()
    expect(complete('sen')).toBe('send')
    expect(complete('poll', '--wa')).toBe('--wait')
  })
})
