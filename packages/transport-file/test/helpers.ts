import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import {
  createMessage,
  IdGenerator,
  ManualClock,
  type MessageInput,
  type MessageV2,
} from '@agent-comm/protocol'
import { testCleanups } from '@agent-comm/test-support'
import { FileTransport, type FileTransportOptions } from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-file-test-')

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
  onCleanup(() => transport.close())
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
