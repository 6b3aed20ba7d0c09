import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import {
  createMessage,
  IdGenerator,
  ManualClock,
  type MessageInput,
  type MessageV2,
} from '@agent-comm/protocol'
import { afterEach } from 'vitest'
import { FileTransport, type FileTransportOptions } from '../src/index.js'

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
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-file-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A file transport on a fresh folder with a manual clock, closed after the test. */
export function openTransport(options: Partial<FileTransportOptions> = {}): {
  transport: FileTransport
  clock: ManualClock
  root: string
  message: (fields?: Partial<MessageInput>) => MessageV2
} {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 1, 3, 14, 30))
  const root = options.root ?? join(tempDir(), 'queue')
  const transport = new FileTransport({ ...options, root, clock })
  cleanups.push(() => transport.close())
  const ids = new IdGenerator(clock)
  const message = (fields: Partial<MessageInput> = {}): MessageV2 =>
    createMessage(
      { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Implement auth', ...fields },
      { clock, ids },
    )
  return { transport, clock, root, message }
}

/** Every file under `root`, as sorted paths relative to it. */
export function listFiles(root: string): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else out.push(relative(root, path))
    }
  }
  walk(root)
  return out.sort()
}
