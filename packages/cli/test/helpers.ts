import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testCleanups } from '@agent-comm/test-support'
import { afterEach } from 'vitest'

/** The built executable under test. */
export const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-cli-test-')

const children = new Set<ChildProcess>()

// Registered after testCleanups' hook, so it runs before it (vitest runs after-hooks as a stack): children
// still running are killed before their folders are removed.
afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})

/** The test process's environment without any AGENT_COMM_* variable, so only what a test sets counts. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AGENT_COMM_') && key !== 'DEBUG') env[key] = value
  }
  return { ...env, NO_COLOR: '1', ...extra }
}

/** What a finished command did. */
export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Options of {@link runCli}. */
export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Written to the command's stdin, which is then closed. */
  input?: string
  /** Leave stdin open for the test to write to (and end); `input` is then ignored. */
  keepStdinOpen?: boolean
}

/** Spawns the CLI and resolves when it exits. */
export function spawnCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: options.env ?? cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  children.add(child)
  child.on('exit', () => children.delete(child))
  if (options.keepStdinOpen !== true) child.stdin?.end(options.input ?? '')
  return child
}

/** Resolves the first line the child writes to stdout (without its newline); rejects if it exits first. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8')
      const end = out.indexOf('\n')
      if (end >= 0) {
        child.stdout?.off('data', onData)
        child.off('exit', onExit)
        resolve(out.slice(0, end))
      }
    }
    const onExit = (code: number | null): void =>
      reject(new Error(`exited with ${code} before printing a line\n${out}\n${err}`))
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Resolves the child's exit code (or the signal that ended it, as a string). */
export function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  if (child.signalCode !== null) return Promise.resolve(child.signalCode)
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
}

/**
 * Runs `agent-comm demo` and sends it `signal` as soon as it printed its first step (the temporary database
 * is open then). Resolves its exit code, its output, and whether the walkthrough had finished anyway
 * (a fast demo may end before the signal is handled, and then exits 0).
 */
export function stopDemoAfterFirstStep(
  signal: 'SIGINT' | 'SIGTERM',
  options: RunOptions = {},
): Promise<{ code: number | string | null; stdout: string; finished: boolean }> {
  const child = spawnCli(['demo'], options)
  let stdout = ''
  let sent = false
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    if (!sent && stdout.includes('[1] architect registers')) {
      sent = true
      child.kill(signal)
    }
  })
  child.stderr?.resume()
  return exited(child).then((code) => ({ code, stdout, finished: /Conversation conv_/.test(stdout) }))
}

/** Runs the CLI to completion and collects its output. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  const child = spawnCli(args, options)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A project folder with its own database, and a runner bound to it. */
export interface Project {
  dir: string
  db: string
  env: NodeJS.ProcessEnv
  /** Runs `agent-comm <args>` against this project's database (through AGENT_COMM_DB_PATH). */
  run(args: readonly string[], options?: Omit<RunOptions, 'env' | 'cwd'>): Promise<Run>
  /** Runs with `--json`, expects exit code 0 and returns the parsed document. */
  json<T = Record<string, unknown>>(args: readonly string[]): Promise<T>
  /** Runs and expects exit code 0. */
  ok(args: readonly string[], options?: Omit<RunOptions, 'env' | 'cwd'>): Promise<Run>
}

/** A fresh project (temporary folder and database), removed after the test. */
export function project(): Project {
  const dir = tempDir()
  const db = join(dir, 'test.db')
  const env = cleanEnv({ AGENT_COMM_DB_PATH: db })
  const run = (args: readonly string[], options: Omit<RunOptions, 'env' | 'cwd'> = {}) =>
    runCli(args, { ...options, cwd: dir, env })
  const ok = async (args: readonly string[], options: Omit<RunOptions, 'env' | 'cwd'> = {}) => {
    const result = await run(args, options)
    if (result.code !== 0) {
      throw new Error(
        `agent-comm ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
      )
    }
    return result
  }
  return {
    dir,
    db,
    env,
    run,
    ok,
    json: async <T>(args: readonly string[]) => JSON.parse((await ok([...args, '--json'])).stdout) as T,
  }
}

/** Creates the project's database, empty: commands other than register refuse a missing one. */
export async function createDatabase(p: Project): Promise<void> {
  await p.ok(['stats', '--create'])
}

/** Registers sqlite agents (capabilities send, receive; device local), one after the other. */
export async function registerAgents(p: Project, ...names: string[]): Promise<void> {
  for (const name of names) await p.ok(['register', name, '-c', 'send,receive', '-d', 'local'])
}

/** Every file under `dir`, at any depth. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}
