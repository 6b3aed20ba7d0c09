import { spawn, spawnSync } from 'node:child_process'
import { accessSync, chmodSync, constants, copyFileSync, existsSync, linkSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { describe, expect, it } from 'vitest'
import { BIN, cleanEnv, project, type Run, registerAgents, tempDir } from './helpers.js'

// The scenario needs a user who may read the database but not write it. Root ignores file permissions, so
// as root the CLI runs as `nobody` (setpriv from util-linux); as any other user, the permissions below
// (folder 0555, file 0444) refuse writes to the owner already.
const NOBODY = 65534
const isRoot = process.getuid?.() === 0
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0
const skipReason = isRoot && !hasSetpriv ? 'running as root without setpriv to drop privileges' : undefined

/** A node binary `nobody` may run: this one, or a hard link (else a copy) of it in a folder anyone can read. */
function nodeForNobody(): string {
  const probe = spawnSync('setpriv', [...dropPrivileges(), process.execPath, '--version'])
  if (probe.status === 0) return process.execPath
  // e.g. Node installed under /root (0700): the binary itself is world-executable, its folder is not.
  const dir = tempDir('agent-comm-node-')
  chmodSync(dir, 0o755)
  const copy = join(dir, 'node')
  try {
    linkSync(process.execPath, copy)
  } catch {
    copyFileSync(process.execPath, copy)
  }
  chmodSync(copy, 0o755)
  return copy
}

function dropPrivileges(): string[] {
  return [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']
}

/** Runs `agent-comm <args>` as a user who may only read `db` (nobody when we are root). */
function runAsReader(
  node: string,
  db: string,
  cwd: string,
  scratch: string,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  const command = isRoot ? 'setpriv' : node
  const argv = isRoot ? [...dropPrivileges(), node, BIN, ...args] : [BIN, ...args]
  const child = spawn(command, argv, {
    cwd,
    // The reader's own temporary folder, where a snapshot of the database may be taken.
    env: cleanEnv({ AGENT_COMM_DB_PATH: db, HOME: scratch, TMPDIR: scratch, ...extraEnv }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe.skipIf(skipReason !== undefined)('a database this user may only read', () => {
  /** A project with two agents and two messages (the second not yet in the full-text index). */
  async function populated() {
    const p = project()
    try {
      accessSync(BIN, constants.R_OK)
    } catch {
      throw new Error(`the CLI at ${BIN} must be readable to run this test`)
    }
    await registerAgents(p, 'architect', 'builder')
    const task = await p.json<{ messageId: string; conversationId: string }>([
      'send',
      'architect',
      'builder',
      'alpha report on the parser',
      '-s',
      'Task',
    ])
    // This search brings the full-text index up to date; the next message stays out of it.
    await p.ok(['search', 'alpha'])
    await p.ok(['send', 'architect', 'builder', 'second alpha finding', '-s', 'Follow-up'])
    const node = nodeForNobody()
    const scratch = tempDir()
    chmodSync(scratch, 0o1777)
    const reader = (args: readonly string[], extraEnv: Record<string, string> = {}) =>
      runAsReader(node, p.db, p.dir, scratch, args, extraEnv)
    return { p, task, scratch, reader }
  }

  const snapshots = (scratch: string) =>
    readdirSync(scratch).filter((name) => name.startsWith('agent-comm-snapshot-'))

  it('answers the read commands and refuses the write commands with a permission hint', async () => {
    const { p, task, scratch, reader } = await populated()

    // No process holds the database open, so there is no -shm file, and the folder may not be written:
    // SQLite cannot read this WAL database in place.
    expect(readdirSync(p.dir).filter((name) => name.startsWith('test.db'))).toEqual(['test.db'])
    chmodSync(p.db, 0o444)
    chmodSync(p.dir, 0o555)
    try {
      const reads: string[][] = [
        ['agents', '--json'],
        ['stats', '--json'],
        ['stats', '--verify', '--json'],
        ['status', task.messageId, '--json'],
        ['search', 'alpha', '--json'],
        ['conversations', '--json'],
        ['conversation', task.conversationId, '--json'],
        ['failed', '--json'],
        ['inbox', 'builder', '--json'],
      ]
      const outputs = new Map<string, unknown>()
      for (const args of reads) {
        const run = await reader(args)
        expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' })
        expect(run.stdout).not.toContain('"error"')
        outputs.set(args.join(' '), JSON.parse(run.stdout))
      }
      // At debug level the command says it opened the database read-only.
      const debug = await reader(['agents', '--json'], { AGENT_COMM_LOG_LEVEL: 'debug' })
      expect(debug.stderr).toContain(`[debug] database ${p.db} (read-only), project root `)
      // A snapshot taken to read the database goes when the command closes it.
      expect(snapshots(scratch)).toEqual([])
      expect(outputs.get('agents --json')).toMatchObject({ count: 2 })
      expect(outputs.get('stats --verify --json')).toMatchObject({ verify: { ok: true } })
      const writes: string[][] = [
        ['send', 'architect', 'builder', 'more'],
        ['register', 'reviewer', '-c', 'review', '-d', 'local'],
        ['poll', 'builder'],
        ['ack', task.messageId, 'builder'],
        ['heartbeat', 'builder'],
      ]
      for (const args of writes) {
        const run = await reader(args)
        expect({ args, code: run.code }).toEqual({ args, code: 1 })
        expect(run.stderr).toContain(`The database at ${p.db} is read-only for this user`)
        expect(run.stderr).toMatch(/ask its owner/i)
        expect(run.stderr).not.toMatch(/locked|a bug in agent-comm/)
      }
      // Nothing was left behind in the folder, and the writer's own search finds what the reader found.
      expect(readdirSync(p.dir).filter((name) => name.startsWith('test.db'))).toEqual(['test.db'])
      chmodSync(p.dir, 0o755)
      chmodSync(p.db, 0o644)
      const search = await p.json<Record<string, unknown>>(['search', 'alpha'])
      expect(outputs.get('search alpha --json')).toEqual(search)
      expect(
        (search as { count?: number }).count ?? (search as { messages: unknown[] }).messages.length,
      ).toBe(2)
    } finally {
      if (existsSync(p.dir)) chmodSync(p.dir, 0o755)
    }
  })

  it('reads it in place while another process holds it open, and still refuses writes', async () => {
    const { p, scratch, reader } = await populated()
    // The owner's process keeps the database open, so its -shm file exists and SQLite can read in place.
    const owner = await Spool.open({ path: p.db })
    try {
      await owner.stats()
      chmodSync(p.db, 0o444)
      // Shared on purpose: a new database's files are its owner's alone (0600), so while it is open the
      // owner lets the reader read its -wal and -shm too.
      for (const file of [`${p.db}-wal`, `${p.db}-shm`]) if (existsSync(file)) chmodSync(file, 0o644)
      chmodSync(p.dir, 0o555)
      const search = await reader(['search', 'alpha', '--json'])
      expect({ code: search.code, stderr: search.stderr }).toEqual({ code: 0, stderr: '' })
      expect(JSON.parse(search.stdout)).toMatchObject({ count: 2 })
      expect(snapshots(scratch)).toEqual([])
      const send = await reader(['send', 'architect', 'builder', 'more'])
      expect(send.code).toBe(1)
      expect(send.stderr).toContain(`The database at ${p.db} is read-only for this user`)
    } finally {
      chmodSync(p.dir, 0o755)
      chmodSync(p.db, 0o644)
      await owner.close()
    }
  })
})

if (skipReason !== undefined) {
  describe('a database this user may only read', () => {
    it.skip(`is not tested here: ${skipReason}`, () => {})
  })
}
