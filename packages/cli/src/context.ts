// The composition root of the CLI: the one module that reads the environment, turns it and the global
// flags into a configuration, builds the coordinator and hands it to a command. Commands never read
// process.env or construct library objects themselves.
import { resolve } from 'node:path'
import type { Coordinator, CoordinatorConfig } from '@agent-comm/coordinator'
import { stderrLogger } from './logger.js'

/** What a command runs against. Close it when the command is done. */
export interface CommandContext {
  readonly coordinator: Coordinator
  readonly config: CoordinatorConfig
  close(): Promise<void>
}

/** Where the context's settings come from besides the environment. */
export interface ContextOptions {
  /** The `--db` flag: wins over AGENT_COMM_DB_PATH. Relative paths are taken from the current folder. */
  db?: string | undefined
  /** Use this project root instead of AGENT_COMM_PROJECT_ROOT (the demo's temporary folder). */
  projectRoot?: string | undefined
}

/** The library code commands use at run time, loaded on first use (see runtime.ts). */
export type Runtime = typeof import('./runtime.bundle.js')

let runtime: Promise<Runtime> | undefined

/** Loads the bundled library code once; `--help` and flag errors never pay for it. */
export function loadRuntime(): Promise<Runtime> {
  runtime ??= import('./runtime.bundle.js')
  return runtime
}

/** The environment as the library's `loadConfig` reads it, with the seed's upper-case log levels accepted. */
function environment(): Record<string, string | undefined> {
  const level = process.env.AGENT_COMM_LOG_LEVEL
  return level === undefined ? process.env : { ...process.env, AGENT_COMM_LOG_LEVEL: level.toLowerCase() }
}

/**
 * Reads the configuration (flags over AGENT_COMM_* variables over defaults) and opens the coordinator on
 * it. Throws `ConfigError` for a bad variable and `StorageError` for an unusable database.
 */
export async function openContext(options: ContextOptions = {}): Promise<CommandContext> {
  const { createCoordinator, loadConfig } = await loadRuntime()
  const cwd = process.cwd()
  const config = loadConfig(environment(), {
    cwd,
    overrides: {
      ...(options.projectRoot === undefined ? {} : { projectRoot: resolve(cwd, options.projectRoot) }),
      ...(options.db === undefined ? {} : { dbPath: resolve(cwd, options.db) }),
    },
  })
  const coordinator = await createCoordinator(config, { logger: stderrLogger(config.logLevel) })
  return { coordinator, config, close: () => coordinator.close() }
}

/** True when AGENT_COMM_LOG_LEVEL is `debug`: errors then show their stack and cause. */
export function debugEnabled(): boolean {
  return process.env.AGENT_COMM_LOG_LEVEL?.trim().toLowerCase() === 'debug'
}

/** What the `bridge` command asks for: a command line already split into words, or a webhook URL. */
export type BridgeSpec = { argv: string[] } | { webhook: string }

/**
 * Builds the bridge for `agent-comm bridge`. Here, in the composition root, the command gets the
 * environment it runs with (this process's, so PATH and the user's variables reach it).
 */
export async function buildBridge(spec: BridgeSpec): Promise<import('@agent-comm/bridge').Bridge> {
  const { CommandBridge, HttpBridge } = await loadRuntime()
  if ('webhook' in spec) return new HttpBridge({ url: spec.webhook })
  const [command, ...args] = spec.argv
  return new CommandBridge({ command: command!, args, env: process.env })
}
