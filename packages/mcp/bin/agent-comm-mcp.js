#!/usr/bin/env node
// agent-comm-mcp: serves agent-comm as MCP tools over stdio (or Streamable HTTP with --http).
import { main } from '../dist/main.js'

const code = await main({
  argv: process.argv.slice(2),
  env: process.env,
  print: (text) => process.stdout.write(text),
  printError: (text) => process.stderr.write(text),
})
process.exitCode = code
// Whatever handle is still open after the server stopped must not keep the process alive.
setTimeout(() => process.exit(code), 1000).unref()
