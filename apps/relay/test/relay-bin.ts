import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { jsonLine } from '@agent-comm/test-support'
import { onCleanup } from './helpers.js'

/** The relay's executable, as built. */
export const RELAY_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/**
 * Starts the relay bin with `args` and environment `env` (the whole of it: nothing else is inherited);
 * killed after the test if still running.
 */
export function spawnRelay(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [RELAY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return child
}

/** Resolves with the relay's URL from its `relay listening` log line; rejects when it exits before. */
export async function listening(child: ChildProcess, what = 'relay'): Promise<string> {
  const line = await jsonLine<{ msg?: string; url: string }>(child, (l) => l.msg === 'relay listening', what)
  return line.url
}
