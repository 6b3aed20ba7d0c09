#!/usr/bin/env node
// agent-comm-mcp: serves agent-comm as MCP tools over stdio (or Streamable HTTP with --http).
import module from 'node:module'
import { unsupportedNodeMessage } from '@agent-comm/spool/node-support'

// Node keeps the compiled code between starts (in the OS temp folder), so MCP clients that launch the server
// get their initialize answer sooner. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.()

// Before anything native loads: on a Node too old for better-sqlite3 the server would crash with a
// segmentation fault instead of saying what to install.
const unsupported = unsupportedNodeMessage(process.versions.node, 'agent-comm-mcp')
if (unsupported !== undefined) {
  process.stderr.write(unsupported)
  process.exit(1)
}
// The command's modules and the MCP SDK in one file (scripts/bundle-bin.mjs): it answers initialize sooner.
const { main } = await import('../dist/main.bundle.js')

const code = await main({
  argv: process.argv.slice(2),
  env: process.env,
  print: (text) => process.stdout.write(text),
  printError: (text) => process.stderr.write(text),
})
process.exitCode = code
// Whatever handle is still open after the server stopped must not keep the process alive.
setTimeout(() => process.exit(code), 1000).unref()
