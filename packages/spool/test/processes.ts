import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { jsonLine } from '@agent-comm/test-support'
import { onCleanup } from './helpers.js'

/** Path of a fixture script. */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/**
 * Starts `node <fixture> ...args`; the process is killed after the test if still running. With `input`, its
 * stdin is a pipe the test writes to.
 */
export function startFixture(name: string, args: string[], options: { input?: boolean } = {}): ChildProcess {
  const stdin = options.input === true ? 'pipe' : 'ignore'
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: [stdin, 'pipe', 'pipe'] })
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return child
}

/** Resolves with the first JSON line the child prints on stdout. */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return jsonLine<T>(child, () => true, 'fixture')
}

/** Runs a fixture to completion and returns its first JSON line. */
export async function runFixture<T>(name: string, args: string[]): Promise<T> {
  const child = startFixture(name, args)
  const [line] = await Promise.all([
    firstJsonLine<T>(child),
    new Promise((resolve) => child.on('exit', resolve)),
  ])
  return line
}
