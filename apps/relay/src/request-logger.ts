import type { FastifyBaseLogger, LogLevel } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

/** A logger that can say whether a level would be written (pino's loggers can). */
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean }

/**
 * A request's logger that makes its pino child (the request id bound in) only when a line is written. At
 * the relay's usual levels (info for a busy relay's operators, warn in benchmarks) nearly every request
 * writes nothing of its own, yet a pino child per request serialises its bindings through the redaction
 * paths: about 2 % of the relay's CPU per request with 16 clients (`bench/profile.mjs`). A line written at
 * an enabled level goes through the same child, so it is exactly the line pino would have written.
 */
class RequestLogger {
  readonly #parent: LevelAwareLogger
  readonly #bindings: Bindings
  #child: FastifyBaseLogger | undefined

  constructor(parent: LevelAwareLogger, bindings: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
  }

  /** The pino child, made on first use. */
  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }

  #write(level: Exclude<LogLevel, 'silent'>, args: unknown[]): void {
    // A child made already (its level may have been changed) decides for itself; otherwise it would inherit
    // the parent's level, so the parent says whether the line would be written.
    if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return
    ;(this.#real()[level] as (...line: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args)
  }

  error(...args: unknown[]): void {
    this.#write('error', args)
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args)
  }

  info(...args: unknown[]): void {
    this.#write('info', args)
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args)
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args)
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/**
 * fastify's `childLoggerFactory` for the relay: a {@link RequestLogger} that makes the request's pino child
 * only when it writes a line. A route with a level or serializers of its own, or a logger that cannot say
 * whether a level is enabled, gets its child at once, as fastify's default factory makes it.
 */
export function lazyRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const levelAware = logger as Partial<LevelAwareLogger>
  if (
    typeof levelAware.isLevelEnabled !== 'function' ||
    options.level !== undefined ||
    options.serializers !== undefined
  ) {
    return logger.child(bindings, options)
  }
  return new RequestLogger(logger as LevelAwareLogger, bindings) as unknown as FastifyBaseLogger
}
