// `@agent-comm/test-support/record-modules`: imported first by a test's child process (with `--import`, or
// as its first import), it records the URL of every module the process resolves from then on — import and
// require alike — so a test can say what a command or an operation loaded.
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const resolved = new Set<string>()
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context)
    resolved.add(result.url)
    return result
  },
})

/** The URLs of the modules resolved so far. */
export function resolvedModules(): string[] {
  return [...resolved]
}

// With RECORD_MODULES_TO set, they are written there (one a line) when the process exits.
const target = process.env.RECORD_MODULES_TO
if (target !== undefined) process.on('exit', () => writeFileSync(target, [...resolved].join('\n')))
