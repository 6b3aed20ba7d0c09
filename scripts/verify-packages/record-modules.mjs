// Preloaded with `node --import` (NODE_OPTIONS) by the packaging check: appends one JSON line per module
// resolution — importer, specifier, resolved URL — to the file named by AGENT_COMM_MODULE_LOG. The check
// reads it to see what a command really loaded (does `agent-comm send` import fastify?) and whether every
// package imported only what it declares.
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the packaging check for the processes it records, not a turbo input
const log = process.env.AGENT_COMM_MODULE_LOG
if (log !== undefined && log !== '') {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context)
      appendFileSync(log, `${JSON.stringify({ parent: context.parentURL, specifier, url: result.url })}\n`)
      return result
    },
  })
}
