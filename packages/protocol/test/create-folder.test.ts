import { statSync } from 'node:fs'
import { join } from 'node:path'
import { testCleanups } from '@agent-comm/test-support'
import { describe, expect, it } from 'vitest'
import { createFolder, FolderError } from '../src/create-folder.js'

const { tempDir } = testCleanups('agent-comm-create-folder-')

describe.skipIf(process.platform === 'win32')('createFolder', () => {
  it('gives every folder it creates the mode asked for, and leaves a folder that exists as it is', () => {
    const root = tempDir()
    const umask = process.umask()
    createFolder(join(root, 'secrets', 'relay'), { mode: 0o700 })
    for (const dir of [join(root, 'secrets'), join(root, 'secrets', 'relay')]) {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700 & ~umask)
    }
    const before = statSync(root).mode & 0o777
    createFolder(root, { mode: 0o700 })
    expect(statSync(root).mode & 0o777).toBe(before)
  })

  it('refuses a folder under /proc with a FolderError naming it, instead of hanging', () => {
    expect(() => createFolder('/proc/agent-comm-test/a', { mode: 0o700 })).toThrow(FolderError)
  })
})
