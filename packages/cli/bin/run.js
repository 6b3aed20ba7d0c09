#!/usr/bin/env node
// The agent-comm executable. Commands are listed in oclif.manifest.json, so only the one run is loaded.
import module from 'node:module'
import { unsupportedNodeMessage } from '@agent-comm/spool/node-support'

// First of all: on a Node too old for better-sqlite3 every command that opens a database would die with a
// segmentation fault; say what to install instead.
const unsupported = unsupportedNodeMessage(process.versions.node, 'agent-comm')
if (unsupported !== undefined) {
  process.stderr.write(unsupported)
  process.exit(1)
}

// Node keeps the compiled code of the CLI between runs (in the OS temp folder): every command starts
// about 25 ms sooner. NODE_DISABLE_COMPILE_CACHE=1 turns it off. It must be on before anything loads.
module.enableCompileCache?.()
// The hook command (`inbox AGENT --new`) runs on every prompt of an assistant: it skips oclif entirely.
const argv = process.argv.slice(2)
if (argv[0] === 'inbox' && argv.includes('--new')) {
  const { runHookInbox } = await import('../dist/hook-inbox.js')
  const result = runHookInbox(argv.slice(1), process.env, process.cwd())
  if (result !== undefined) {
    const stream = result.code === 0 ? process.stdout : process.stderr
    stream.write(result.output, () => process.exit(result.code))
    await new Promise(() => {})
  }
}
// A closed stdout (`agent-comm poll --follow | head -1`) ends the command, as SIGPIPE ends other Unix tools.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0)
})
const { execute } = await import('@oclif/core')
// Global flags may come before the command (`agent-comm --db x.db agents`); oclif wants them after it.
const { hoistGlobalFlags } = await import('../dist/argv.js')
const { readFileSync } = await import('node:fs')
const { oclif } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8'))
const args = hoistGlobalFlags(
  process.argv.slice(2),
  new Set(Object.keys(oclif.topics ?? {})),
  new Set(Object.keys(manifest.commands)),
)
await execute({ args, dir: import.meta.url })
