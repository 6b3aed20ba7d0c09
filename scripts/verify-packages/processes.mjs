// Child processes for the packaging check: every one has a deadline, so a hung install or server fails the
// check with what it printed instead of hanging CI.
import { spawn } from 'node:child_process'

/** Thrown when a command exits non-zero, times out or cannot start; the message carries its output. */
export class CommandFailed extends Error {}

/** The last `max` characters of a process's output, for error messages. */
function tail(text, max = 4000) {
  return text.length > max ? `…${text.slice(-max)}` : text
}

/**
 * Runs `command` to completion and resolves `{ stdout, stderr, code }`. Rejects with CommandFailed on a
 * non-zero exit (unless `allowFailure`), a signal, or when it runs longer than `timeoutMs`.
 */
export function run(command, args, { cwd, env, timeoutMs = 120_000, input, allowFailure = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new CommandFailed(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\n${tail(stderr)}`),
      )
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new CommandFailed(`${command} could not start: ${error.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if ((code === 0 || allowFailure) && signal === null) {
        resolve({ stdout, stderr, code })
        return
      }
      reject(
        new CommandFailed(
          `${command} ${args.join(' ')} exited with ${code ?? signal} (in ${cwd ?? process.cwd()})\n` +
            `stdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`,
        ),
      )
    })
    child.stdin.end(input ?? '')
  })
}

/**
 * Starts a long-running `command` and resolves once a line of its stdout or stderr satisfies `ready` (which
 * returns a truthy value to resolve with). The returned `stop()` sends SIGTERM and resolves the exit code.
 */
export function startServer(command, args, { cwd, env, timeoutMs = 60_000, ready }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)))
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new CommandFailed(
          `${command} ${args.join(' ')} was not ready after ${timeoutMs} ms\n${tail(output)}`,
        ),
      )
    }, timeoutMs)
    let pending = ''
    const onData = (chunk) => {
      output += chunk
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const value = ready(line)
        if (value) {
          clearTimeout(timer)
          resolve(value)
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    exited.then((code) => {
      clearTimeout(timer)
      reject(
        new CommandFailed(
          `${command} ${args.join(' ')} exited with ${code} before it was ready\n${tail(output)}`,
        ),
      )
    })
  })
  return {
    started,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
