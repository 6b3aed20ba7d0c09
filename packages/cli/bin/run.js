#!/usr/bin/env node
// The agent-comm executable. Commands are listed in oclif.manifest.json, so only the one run is loaded,
// and oclif itself is one bundled file (below): start-up is what `pnpm bench` in packages/cli measures.
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
// Global flags may come before it (`agent-comm --db x.db inbox builder --new`): moved after it first, as
// below for every command (no topic or command list needed: `inbox` is neither a topic nor `help`).
let argv = process.argv.slice(2)
if (argv[0]?.startsWith('-') && argv.includes('--new')) {
  argv = (await import('../dist/argv.js')).hoistGlobalFlags(argv, new Set())
}
if (argv[0] === 'inbox' && argv.includes('--new')) {
  const { runHookInbox } = await import('../dist/hook-inbox.js')
  const result = await runHookInbox(argv.slice(1), process.env, process.cwd())
  if (result !== undefined) {
    process[result.stream].write(result.output, () => process.exit(result.code))
    await new Promise(() => {})
  }
}
// A closed stdout (`agent-comm poll --follow | head -1`) ends the command, as SIGPIPE ends other Unix tools.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0)
})
// Global flags may come before the command (`agent-comm --db x.db agents`); oclif wants them after it.
// The topic and command names, and send's entry of oclif.manifest.json, written at build time from the
// manifest (scripts/command-index.mjs): a small file, read instead of the whole manifest.
const { hoistGlobalFlags } = await import('../dist/argv.js')
const { readFileSync } = await import('node:fs')
const index = JSON.parse(readFileSync(new URL('../dist/command-index.json', import.meta.url), 'utf8'))
const args = hoistGlobalFlags(process.argv.slice(2), new Set(index.topics), new Set(index.commands))
// `send`, what scripts and agents run most, skips oclif when its line is a plain one (src/send-fast-path.ts
// says which, bundled into one file by scripts/bundle-runtime.mjs); --help, usage errors and every other line
// go to oclif below.
const sent =
  args[0] === 'send' &&
  (await (await import('../dist/send-fast-path.bundle.js')).runSendFastPath(args.slice(1), index.send))
if (!sent) {
  // oclif compares the Node version with its own engines through semver (about 50 modules) when loaded;
  // the check above already did that job. The variable is put back as it was, for child processes.
  const engineWarning = process.env.OCLIF_DISABLE_ENGINE_WARNING
  process.env.OCLIF_DISABLE_ENGINE_WARNING = 'true'
  // oclif as one bundled file for every importer (dist/oclif-bundle.js says how and why).
  const { execute } = await (await import('../dist/oclif-bundle.js')).loadOclif()
  if (engineWarning === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
  else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineWarning
  await execute({ args, dir: import.meta.url })
}
