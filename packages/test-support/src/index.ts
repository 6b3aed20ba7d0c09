// What the test suites of the agent-comm packages share: cleanups run after each test, temp folders, the
// JSON lines a child process reports.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

export { debianTool } from './debian-tool.js'
export { freePort } from './loopback-port.js'

/** A cleanup: closes, stops or removes what a test opened. */
export type Cleanup = () => Promise<void> | void

/** What {@link testCleanups} gives a test file. */
export interface TestCleanups {
  /** Runs `fn` after the current test; cleanups run in reverse order of registration. */
  onCleanup(fn: Cleanup): void
  /** A fresh temporary folder named `<prefix>…`, removed after the test. */
  tempDir(prefix?: string): string
}

/**
 * Cleanups for the test file that calls it (from its helpers module, at load): registers one `afterEach`
 * that runs, in reverse order, everything registered during the test, so a failing assertion leaks nothing.
 * `prefix` names the temp folders (`agent-comm-spool-test-`), so a leaked one says whose it is.
 */
export function testCleanups(prefix: string): TestCleanups {
  const cleanups: Cleanup[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const onCleanup = (fn: Cleanup): void => {
    cleanups.push(fn)
  }
  return {
    onCleanup,
    tempDir(folderPrefix = prefix) {
      const dir = mkdtempSync(join(tmpdir(), folderPrefix))
      onCleanup(() => rmSync(dir, { recursive: true, force: true }))
      return dir
    },
  }
}

/**
 * Resolves with the first JSON object line `child` prints on stdout that `accept`s (a line not starting with
 * `{` is passed over); rejects with its stderr when it exits before. `what` names the child in that error.
 */
export function jsonLine<T>(
  child: ChildProcess,
  accept: (line: T) => boolean = () => true,
  what = 'child process',
): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    let done = false
    child.stderr?.on('data', (chunk) => {
      err += chunk
    })
    child.stdout?.on('data', (chunk) => {
      out += chunk
      let newline = out.indexOf('\n')
      while (!done && newline >= 0) {
        const text = out.slice(0, newline)
        out = out.slice(newline + 1)
        const line = text.startsWith('{') ? (JSON.parse(text) as T) : undefined
        if (line !== undefined && accept(line)) {
          done = true
          resolve(line)
        }
        newline = out.indexOf('\n')
      }
    })
    child.on('exit', (code, signal) => {
      if (!done) reject(new Error(`${what} exited (${code ?? signal}) before reporting: ${err}`))
    })
  })
}
