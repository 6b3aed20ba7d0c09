import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { MessageV2, TraceMetadata } from '@agent-comm/protocol'
import { ValidationError } from '@agent-comm/protocol'
import type { Availability, Bridge, BridgeContext, BridgeResult } from './bridge.js'
import { DEFAULT_MAX_REPLY_BYTES, describeError, healthTimeoutOf, withinSeconds } from './bridge.js'
import { commandEnvironment } from './command-env.js'
import { failureReason, withCleanReason } from './failure-reason.js'

/** Options of {@link CommandBridge}. */
export interface CommandBridgeOptions {
  /** The program to run (a path, or a name looked up on `env.PATH`). */
  command: string
  /** Its arguments, passed as an argv array: no shell ever parses them. */
  args?: readonly string[]
  cwd?: string
  /**
   * The environment the command starts with (pass `process.env` from your composition root), less
   * agent-comm's own credentials: agents' relay secrets (`AGENT_COMM_SECRET_*`), A2A tokens, the webhook
   * authorization, the MCP token, the relay's admin secret and secrets key, and a database URL holding a
   * password (see `keepEnv`). The bridge adds `AGENT_COMM_MESSAGE_ID`, `_FROM`, `_TO`, `_SUBJECT`,
   * `_CONVERSATION_ID`, `_PRIORITY`, `_ATTEMPT`, and for a traced message the W3C `TRACEPARENT` (and
   * `TRACESTATE`) of the bridge's forward span.
   */
  env?: Record<string, string | undefined>
  /** Names of withheld variables the command is given anyway (e.g. `AGENT_COMM_DB_PATH`). */
  keepEnv?: readonly string[]
  /**
   * Arguments appended to `args` for the health check run by `isAvailable` (default `['--health']`);
   * null only checks that the command exists.
   */
  healthArgs?: readonly string[] | null
  /** How long the health check may run before it counts as failed, in ms (10 000). */
  healthTimeoutMs?: number
  /** Largest stdout or stderr kept, in bytes (1 MiB); more fails the message. */
  maxOutputBytes?: number
  /**
   * Time between SIGTERM and SIGKILL when the command must stop, in ms (500): short, so that a stopped
   * bridge is gone within a second even when the command ignores SIGTERM.
   */
  killGraceMs?: number
  /** Exit codes that mean "do not retry" (dead-letter at once). Default: none, every failure is retried. */
  nonRetryableExitCodes?: readonly number[]
}

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  overflow: boolean
  spawnError?: Error
}

/**
 * Runs a command per message: the message as JSON on stdin, stdout is the reply, a non-zero exit is a
 * failure with stderr as the error. Message text never reaches a command line or a shell. The command runs
 * in its own process group, so a timeout or shutdown kills it and everything it started.
 */
export class CommandBridge implements Bridge {
  readonly name: string
  readonly #options: Required<Omit<CommandBridgeOptions, 'cwd' | 'healthTimeoutMs'>> & {
    cwd: string | undefined
  }
  readonly #healthTimeoutMs: number

  constructor(options: CommandBridgeOptions) {
    if (typeof options.command !== 'string' || options.command.trim() === '') {
      throw new ValidationError(
        'Invalid CommandBridge command: it is empty',
        [{ path: 'command', message: 'must name the program to run' }],
        {
          hint: "Give command as a program name on PATH or a path to it (e.g. command: 'node'), with its arguments in args.",
        },
      )
    }
    this.#options = {
      command: options.command,
      args: options.args ?? [],
      cwd: options.cwd,
      env: commandEnvironment(options.env ?? {}, options.keepEnv),
      keepEnv: options.keepEnv ?? [],
      healthArgs: options.healthArgs === undefined ? ['--health'] : options.healthArgs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_REPLY_BYTES,
      killGraceMs: options.killGraceMs ?? 500,
      nonRetryableExitCodes: options.nonRetryableExitCodes ?? [],
    }
    this.#healthTimeoutMs = healthTimeoutOf('CommandBridge', options.healthTimeoutMs)
    this.name = `command ${[options.command, ...(options.args ?? [])].join(' ')}`
  }

  async #forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    const env = {
      ...this.#options.env,
      AGENT_COMM_MESSAGE_ID: message.id,
      AGENT_COMM_FROM: message.fromAgent,
      AGENT_COMM_TO: message.toAgent,
      AGENT_COMM_SUBJECT: envSafe(message.subject),
      AGENT_COMM_CONVERSATION_ID: message.routing.conversationId,
      AGENT_COMM_PRIORITY: message.priority,
      AGENT_COMM_ATTEMPT: String(context.attempt),
      ...(context.trace === undefined ? {} : traceEnv(context.trace)),
    }
    const outcome = await this.#run(this.#options.args, env, `${JSON.stringify(message)}\n`, context.signal)
    if (outcome.spawnError !== undefined) {
      return {
        success: false,
        error: `could not start ${this.#options.command}: ${outcome.spawnError.message}`,
        retryable: true,
      }
    }
    if (context.signal.aborted) {
      return {
        success: false,
        error: `${this.name} was stopped: ${describeError(context.signal.reason)}`,
        retryable: true,
      }
    }
    if (outcome.overflow) {
      return {
        success: false,
        error: `${this.name} wrote more than ${this.#options.maxOutputBytes} bytes`,
        retryable: false,
      }
    }
    if (outcome.code === 0) return { success: true, replyText: outcome.stdout.replace(/\r?\n$/, '') }
    const how = outcome.code === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`
    return {
      success: false,
      error: outcome.stderr.trim() === '' ? `${this.name} ${how}` : outcome.stderr.trim(),
      retryable: outcome.code === null || !this.#options.nonRetryableExitCodes.includes(outcome.code),
    }
  }

  /** Forwards the message; a failure's reason is cleaned as every bridge's is ({@link withCleanReason}). */
  async forward(message: MessageV2, context: BridgeContext): Promise<BridgeResult> {
    return withCleanReason(await this.#forward(message, context))
  }

  async isAvailable(signal?: AbortSignal): Promise<boolean> {
    return (await this.checkAvailability(signal)).available
  }

  /** Runs the health check (or, with `healthArgs: null`, looks the command up) and says why it failed. */
  async checkAvailability(signal?: AbortSignal): Promise<Availability> {
    const { command, healthArgs } = this.#options
    const missing: Availability = {
      available: false,
      reason: command.includes('/')
        ? `${command} does not exist or is not executable`
        : `command '${command}' was not found on PATH`,
    }
    if (healthArgs === null)
      return commandExists(command, this.#options.env.PATH) ? { available: true } : missing
    const timeout = AbortSignal.timeout(this.#healthTimeoutMs)
    const outcome = await this.#run(
      [...this.#options.args, ...healthArgs],
      this.#options.env,
      '',
      signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    )
    if (outcome.spawnError !== undefined) {
      if ((outcome.spawnError as NodeJS.ErrnoException).code === 'ENOENT') return missing
      return { available: false, reason: `could not start ${command}: ${outcome.spawnError.message}` }
    }
    if (outcome.code === 0) return { available: true }
    const check = `the health check '${[command, ...this.#options.args, ...healthArgs].join(' ')}'`
    if (timeout.aborted) {
      return {
        available: false,
        reason: `${check} did not finish within ${withinSeconds(this.#healthTimeoutMs)}`,
      }
    }
    const how = outcome.code === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`
    const stderr = outcome.stderr.trim()
    return {
      available: false,
      reason: failureReason(stderr === '' ? `${check} ${how}` : `${check} ${how}: ${stderr}`),
    }
  }

  #run(
    args: readonly string[],
    env: Record<string, string | undefined>,
    input: string,
    signal: AbortSignal,
  ): Promise<Outcome> {
    return new Promise((resolve) => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      let outBytes = 0
      let errBytes = 0
      let overflow = false
      let child: ChildProcess
      try {
        child = spawn(this.#options.command, [...args], {
          cwd: this.#options.cwd,
          env,
          detached: true, // its own process group: we can kill the whole tree
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      } catch (error) {
        resolve({ code: null, signal: null, stdout: '', stderr: '', overflow, spawnError: error as Error })
        return
      }
      let killTimer: NodeJS.Timeout | undefined
      const stop = (): void => {
        killGroup(child, 'SIGTERM')
        killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), this.#options.killGraceMs)
      }
      const collect = (chunks: Buffer[], which: 'out' | 'err') => (chunk: Buffer) => {
        if (which === 'out') outBytes += chunk.length
        else errBytes += chunk.length
        if ((which === 'out' ? outBytes : errBytes) > this.#options.maxOutputBytes) {
          if (!overflow) {
            overflow = true
            stop()
          }
          return
        }
        chunks.push(chunk)
      }
      child.stdout?.on('data', collect(out, 'out'))
      child.stderr?.on('data', collect(err, 'err'))
      // A command that exits without reading its input closes the pipe: that is not our failure.
      child.stdin?.on('error', () => {})
      child.stdin?.end(input)
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      let spawnError: Error | undefined
      child.on('error', (error) => {
        spawnError = error
      })
      child.on('close', (code, exitSignal) => {
        clearTimeout(killTimer)
        signal.removeEventListener('abort', stop)
        // The leader is gone; make sure nothing it started lingers after a stop.
        if (signal.aborted || overflow) killGroup(child, 'SIGKILL')
        resolve({
          code,
          signal: exitSignal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          overflow,
          spawnError,
        })
      })
    })
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

/** Environment values cannot hold NUL bytes; the exact text is on stdin anyway. */
function envSafe(value: string): string {
  return value.replaceAll('\0', '')
}

/** True when `command` is an executable path, or a name found on `pathVariable`. */
export function commandExists(command: string, pathVariable: string | undefined): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (pathVariable ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command))
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** The W3C trace context as the environment variables OpenTelemetry SDKs read (`TRACEPARENT`, `TRACESTATE`). */
function traceEnv(trace: TraceMetadata): Record<string, string> {
  return trace.tracestate === undefined
    ? { TRACEPARENT: trace.traceparent }
    : { TRACEPARENT: trace.traceparent, TRACESTATE: trace.tracestate }
}
