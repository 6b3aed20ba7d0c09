import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

const running = new Set<ChildProcess>()

// A fixture still running when its test ends (the test failed or timed out) is killed, never left behind.
afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  running.clear()
})

/** Path of a fixture script (they import the built `dist`: run `pnpm build` after changing `src`). */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** A fixture process with its stderr gathered, so a test can wait for a line it prints there. */
export interface Fixture {
  child: ChildProcess
  /** Resolves when the process has printed `line` on stderr (`count` times), rejects if it exits first. */
  said(line: string, count?: number): Promise<void>
  /** Resolves with the first JSON line it prints on stdout, once it has exited; rejects if there is none. */
  report<T>(): Promise<T>
  /** Resolves with the first JSON line it prints on stdout as soon as it is printed. */
  firstLine<T>(): Promise<T>
  /** Writes one line to its stdin. */
  tell(line: string): void
}

/** Starts `node <fixture> ...args` with piped stdio; it is killed after the test if still running. */
export function startFixture(name: string, args: string[]): Fixture {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  running.add(child)
  let err = ''
  let out = ''
  const stderrWaiters = new Set<() => void>()
  const stdoutWaiters = new Set<() => void>()
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
    for (const w of [...stderrWaiters]) w()
  })
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    for (const w of [...stdoutWaiters]) w()
  })
  // The test may end the fixture's stdin or the fixture may exit first: neither is an error here.
  child.stdin!.on('error', () => undefined)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    child,
    said(line, count = 1) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (err.split('\n').filter((l) => l === line).length >= count) {
            stderrWaiters.delete(check)
            resolve()
          }
        }
        stderrWaiters.add(check)
        check()
        void exited.then((code) => {
          if (stderrWaiters.delete(check)) {
            reject(new Error(`${name} exited with ${code} before saying '${line}': ${err.slice(-2000)}`))
          }
        })
      })
    },
    async report<T>() {
      const code = await exited
      const newline = out.indexOf('\n')
      if (newline < 0) throw new Error(`${name} exited with ${code} without a report: ${err.slice(-2000)}`)
      return JSON.parse(out.slice(0, newline)) as T
    },
    firstLine<T>() {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          const newline = out.indexOf('\n')
          if (newline >= 0) {
            stdoutWaiters.delete(check)
            resolve(JSON.parse(out.slice(0, newline)) as T)
          }
        }
        stdoutWaiters.add(check)
        check()
        void exited.then((code) => {
          if (stdoutWaiters.delete(check)) {
            reject(new Error(`${name} exited with ${code} without a report: ${err.slice(-2000)}`))
          }
        })
      })
    },
    tell(line) {
      child.stdin!.write(`${line}\n`)
    },
  }
}

/** What consumer.mjs reports. */
export interface ConsumerReport {
  /** [messageId, receipt, attempt, claimedAt, leaseUntil] per claim, times in ms since epoch. */
  claims: [string, string, number, number, number][]
  acked: string[]
  leaseLost: number
  storageErrors: number
  firstStorageError?: StorageErrorSeen
  recovered: boolean
  error?: string
}

/** What producer.mjs reports. */
export interface ProducerReport {
  sent: string[]
  duplicates: number
  storageErrors: number
  firstStorageError?: StorageErrorSeen
  recovered: boolean
  error?: string
}

/** The first storage error a fixture saw, as it saw it. */
export interface StorageErrorSeen {
  name: string
  code: string
  hint?: string
  reason?: string
  message: string
}

/**
 * The claims of one message that overlap in live-lease time: a claim that started before the lease of the
 * one before it ended. Claim times and lease ends both come from the clocks the store judged leases by,
 * so this holds however slowly the machine ran.
 */
export function overlappingClaims(claims: ConsumerReport['claims']): string[] {
  const byMessage = new Map<string, ConsumerReport['claims']>()
  for (const claim of claims) byMessage.set(claim[0], [...(byMessage.get(claim[0]) ?? []), claim])
  const overlaps: string[] = []
  for (const [id, list] of byMessage) {
    list.sort((a, b) => a[3] - b[3])
    for (let i = 1; i < list.length; i++) if (list[i]![3] < list[i - 1]![4]) overlaps.push(id)
  }
  return overlaps
}
