import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanEnv, runCli, tempDir } from './helpers.js'

// A full disk needs a filesystem of its own: a 1 MiB tmpfs, which only root may mount, and only where the
// machine lets it (a container may not): tried once, and the tests are skipped when it cannot be done.
const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false
  const probe = join(tempDir(), 'probe')
  try {
    mkdirSync(probe)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** Mounts a 1 MiB tmpfs under a temp folder; unmounted after the test. */
function smallDisk(): string {
  const mount = join(tempDir(), 'disk')
  mkdirSync(mount)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount])
  mounted.push(mount)
  return mount
}
const mounted: string[] = []
afterEach(() => {
  for (const mount of mounted.splice(0)) execFileSync('umount', [mount])
})

/** Writes zeros into `folder` until its disk is full. */
function fill(folder: string): void {
  try {
    writeFileSync(join(folder, 'filler'), Buffer.alloc(2 * 1024 * 1024))
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error
  }
}

describe.skipIf(!canMount)(
  'a database on a full disk (needs root and a machine that lets it mount a small tmpfs)',
  () => {
    it('is read by read commands, and writers say the disk is full', async () => {
      const disk = smallDisk()
      const env = cleanEnv({ AGENT_COMM_DB_PATH: join(disk, 'c.db') })
      for (const args of [
        ['register', 'a', '-c', 'x', '-d', 'l'],
        ['register', 'b', '-c', 'x', '-d', 'l'],
        ['send', 'a', 'b', 'hello', '-q'],
      ]) {
        expect((await runCli(args, { env })).code).toBe(0)
      }
      fill(disk)
      // Opening for writing sizes the -shm file, which the full disk refuses: read commands read anyway.
      const stats = await runCli(['stats', '--json'], { env })
      expect(stats.code, stats.stderr).toBe(0)
      expect(JSON.parse(stats.stdout)).toMatchObject({ totalMessages: 1 })
      const agents = await runCli(['agents'], { env })
      expect(agents.code, agents.stderr).toBe(0)
      const send = await runCli(['send', 'a', 'b', 'more'], { env })
      expect(send.code).toBe(1)
      expect(send.stderr).toContain('is full')
      expect(send.stderr).toContain('Free space')
      expect(send.stderr).not.toContain('disk I/O error')
      rmSync(join(disk, 'filler'))
    })

    it('runs stats --verify on a full disk, skipping only the full-text check it cannot write for', async () => {
      const disk = smallDisk()
      const path = join(disk, 'c.db')
      const env = cleanEnv({ AGENT_COMM_DB_PATH: path })
      expect((await runCli(['register', 'a', '-c', 'x', '-d', 'l'], { env })).code).toBe(0)
      // Another process holds the database open (its -shm file exists) while messages arrive, then the
      // disk fills: the next open for writing works, the full-text index cannot be caught up.
      const holder = new DatabaseSync(path)
      try {
        holder.prepare('SELECT count(*) FROM messages').get()
        expect((await runCli(['send', 'a', 'a', 'hello', '-q'], { env })).code).toBe(0)
        fill(disk)
        const verify = await runCli(['stats', '--verify', '--json'], { env })
        expect(verify.code, verify.stderr).toBe(0)
        const report = JSON.parse(verify.stdout) as { verify: { ok: boolean; checks: string[] } }
        expect(report.verify.ok).toBe(true)
        expect(report.verify.checks.join('\n')).toMatch(/full-text index integrity-check: skipped/)
      } finally {
        holder.close()
        rmSync(join(disk, 'filler'), { force: true })
      }
    })
  },
)
