import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

/** The levels a line can be written at. */
const WRITTEN_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
type WrittenLevel = (typeof WRITTEN_LEVELS)[number]
type LogMethod = (...args: unknown[]) => void

/** A logger that can say whether a level would be written (pino's loggers can). */
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean }

/**
 * A request's logger that makes no pino child (the request id bound in) unless it must. A pino child per
 * request serialises its bindings through the redaction paths: about 2 % of the relay's CPU with 16
 * clients (`bench/profile.mjs`), for lines that are mostly never written (at warn) or are one line with an
 * object of fields (the "request completed" line at info). Such a line is written by the parent with the
 * bindings put first among its fields, which is the JSON line the child writes; any other line (a bare
 * message, an error, after the request's level was changed) goes through a child made then.
 */
class RequestLogger {
  declare fatal: LogMethod
  declare error: LogMethod
  declare warn: LogMethod
  declare info: LogMethod
  declare debug: LogMethod
  declare trace: LogMethod
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

  /** Writes one line at `level` (the level methods, defined below, call it). */
  write(level: WrittenLevel, args: unknown[]): void {
    if (this.#child === undefined) {
      // Without a child yet, it would inherit the parent's level: the parent says whether the line is written.
      if (!this.#parent.isLevelEnabled(level)) return
      const [first, ...rest] = args
      if (isPlainObject(first)) {
        // The bindings first, then the line's own fields: the same JSON line the child would write, without
        // making one (the relay's per-request "request completed" line at info is written this way).
        ;(this.#parent[level] as (...line: unknown[]) => void)({ ...this.#bindings, ...first }, ...rest)
        return
      }
    }
    ;(this.#real()[level] as (...line: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/** One method per level on the prototype, so a request's logger is one small object with no closures. */
for (const level of WRITTEN_LEVELS) {
  Object.defineProperty(RequestLogger.prototype, level, {
    value(this: RequestLogger, ...args: unknown[]): void {
      this.write(level, args)
    },
    writable: true,
  })
}

/** An object literal's fields (not an error, whose message and stack pino reads on its own). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
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
