import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Registers a cleanup to run after the current test. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn)
}

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-http-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
