import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { onCleanup } from './helpers.js'

/** Path of a fixture script. */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/**
 * Runs `node <fixture> ...args` to completion and resolves with the JSON line it prints last; rejects
 * with its stderr if it prints none. The process is killed after the test if it is still running.
 */
export function runFixture<T>(name: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  child.stderr.on('data', (chunk) => {
    err += chunk
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1)
      if (line === undefined || line === '')
        reject(new Error(`${name} exited with ${code} and no report: ${err}`))
      else resolve(JSON.parse(line) as T)
    })
  })
}
