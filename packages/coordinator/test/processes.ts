import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

const running = new Set<ChildProcess>()

// A fixture still running when its test ends (the test failed) is killed, never left behind.
afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  running.clear()
})

/** A child process running a fixture of test/fixtures (they import the built `dist`: build first). */
export interface Fixture {
  child: ChildProcess
  /** Resolves once the process has printed `line` on stderr; rejects if it exits first. */
  said(line: string): Promise<void>
  /** Resolves with the JSON lines it printed on stdout, once it has exited with code 0; rejects otherwise. */
  reports<T>(): Promise<T[]>
  /** Resolves with how it ended: its exit code, or the signal that killed it. */
  ended(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `node test/fixtures/<name> ...args` with piped stdio; killed after the test if still running. */
export function startFixture(name: string, args: string[], env: Record<string, string> = {}): Fixture {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  })
  running.add(child)
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
    for (const wake of [...waiters]) wake()
  })
  child.stdin!.on('error', () => undefined)
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  return {
    child,
    said(line) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (err.split('\n').includes(line)) {
            waiters.delete(check)
            resolve()
          }
        }
        waiters.add(check)
        check()
        void ended.then(({ code, signal }) => {
          if (waiters.delete(check))
            reject(
              new Error(`${name} ended (${code ?? signal}) before saying '${line}': ${err.slice(-2000)}`),
            )
        })
      })
    },
    async reports<T>() {
      const { code, signal } = await ended
      if (code !== 0) throw new Error(`${name} ended with ${code ?? signal}: ${err.slice(-2000)}`)
      return out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as T)
    },
    ended: () => ended,
  }
}
