import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { jsonLine as childJsonLine } from '@agent-comm/test-support'
import { onCleanup } from './helpers.js'

/** Path of a fixture script. Fixtures import `../../dist/index.js`: build the package before running them. */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Starts `node <fixture> ...args`; the process is killed after the test if still running. */
export function startFixture(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return child
}

/** Resolves with the first JSON line the child prints on stdout that `accept`s. */
export function jsonLine<T>(child: ChildProcess, accept: (line: T) => boolean = () => true): Promise<T> {
  return childJsonLine(child, accept, 'fixture')
}

/** Runs a fixture to completion and returns its first JSON line. */
export async function runFixture<T>(name: string, args: string[]): Promise<T> {
  const child = startFixture(name, args)
  const [line] = await Promise.all([jsonLine<T>(child), new Promise((resolve) => child.on('exit', resolve))])
  return line
}

/** Resolves when the child writes the line `ready` on stderr (a fixture saying it is up and waiting). */
export function readyOn(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr?.on('data', (chunk) => {
      err += chunk
      if (err.includes('ready\n')) resolve()
    })
    child.on('exit', (code, signal) =>
      reject(new Error(`fixture exited (${code ?? signal}) before it was ready: ${err}`)),
    )
  })
}
