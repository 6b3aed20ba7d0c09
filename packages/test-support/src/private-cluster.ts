import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe } from 'vitest'
import { freePort } from './loopback-port.js'

const run = promisify(execFile)

/** Where Debian and Ubuntu install the PostgreSQL 15 server binaries. */
export const PG15_BIN = '/usr/lib/postgresql/15/bin'
const RUNUSER = '/usr/sbin/runuser'
/** pg_ctl's own wait, in seconds: generous, a loaded 2-core machine starts a cluster slowly. */
const PG_CTL_WAIT_SECONDS = '240'

/**
 * A PostgreSQL 15 cluster of one test's own, which it may stop and restart without disturbing the shared
 * server other tests use: its own data directory and socket directory in a temp folder, trust
 * authentication, a free TCP port on 127.0.0.1.
 */
export interface PrivateCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string
  port: number
  /**
   * Stops the server: `fast` (the default) ends open sessions and shuts down cleanly, `immediate` aborts
   * every process at once, as a crash would, and the next start recovers from the WAL.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>
  /** Stops the server if it runs and removes its folder. */
  destroy(): Promise<void>
}

/**
 * Why no private cluster can be started here (no PostgreSQL 15 binaries, no `runuser`, not root), or
 * undefined when it can. The server refuses to run as root, so the tests, which run as root, start it as
 * the `postgres` OS user.
 */
export function privateClusterUnavailable(): string | undefined {
  for (const binary of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(PG15_BIN, binary)))
      return `${join(PG15_BIN, binary)} is missing (install postgresql-15)`
  }
  if (!existsSync(RUNUSER)) return `${RUNUSER} is missing (util-linux)`
  if (process.getuid?.() !== 0)
    return 'the tests do not run as root, so they cannot start a server as the postgres user'
  return undefined
}

/**
 * The one rule for tests that need a private cluster: undefined when one can be started; otherwise the
 * reason, for the test to skip with — except under `CI=true`, where a missing PostgreSQL 15 is a failure
 * (thrown here, naming `what` needs it), as the rest of the suite treats a missing server.
 */
export function privateClusterSkipReason(what: string): string | undefined {
  const unavailable = privateClusterUnavailable()
  if (unavailable !== undefined && process.env.CI === 'true') {
    throw new Error(`${what} need a private PostgreSQL 15 cluster in CI: ${unavailable}`)
  }
  return unavailable
}

async function asPostgres(binary: string, args: string[]): Promise<void> {
  try {
    await run(RUNUSER, ['-u', 'postgres', '--', join(PG15_BIN, binary), ...args], { cwd: '/' })
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string }
    throw new Error(`${binary} ${args.join(' ')} failed: ${stderr ?? ''}${stdout ?? ''}`, { cause: error })
  }
}

/** The numeric uid and gid of the `postgres` OS user. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/**
 * Creates (`initdb`) and starts a private PostgreSQL 15 cluster in a new temp folder owned by the
 * `postgres` OS user. Call {@link privateClusterUnavailable} first; `destroy()` it after the test.
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const { uid, gid } = await postgresUser()
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-pg-'))
  chownSync(dir, uid, gid)
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  const port = await freePort()
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    // The cluster lives for one test: nothing it holds must survive a machine crash.
    '-c fsync=off',
    '-c max_connections=100',
  ].join(' ')
  let running = false
  const start = async () => {
    await asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      log,
      '-o',
      serverOptions,
      '-w',
      '-t',
      PG_CTL_WAIT_SECONDS,
      'start',
    ])
    running = true
  }
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', PG_CTL_WAIT_SECONDS, 'stop'])
    running = false
  }
  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
    await start()
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async destroy() {
      try {
        if (running) await stop('immediate')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/**
 * A `describe` whose tests share one private cluster, started before them and destroyed after them; its
 * tests call `cluster()` for it. Where none can be started it is skipped, its title saying why — except
 * under `CI=true`, where that is a failure (see {@link privateClusterSkipReason}).
 */
export function describeOnPrivateCluster(title: string, body: (cluster: () => PrivateCluster) => void): void {
  const unavailable = privateClusterSkipReason(`The tests '${title}'`)
  describe.skipIf(unavailable !== undefined)(
    unavailable === undefined
      ? title
      : `${title} (skipped: no private PostgreSQL cluster here, ${unavailable})`,
    () => {
      let started: PrivateCluster | undefined
      beforeAll(async () => {
        started = await startPrivateCluster()
      })
      afterAll(async () => {
        await started?.destroy()
      })
      body(() => {
        if (started === undefined) throw new Error('The private PostgreSQL cluster did not start')
        return started
      })
    },
  )
}
