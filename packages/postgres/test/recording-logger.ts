import type { Logger } from '@agent-comm/protocol'

/** A logger that keeps the messages it is given, and says when one matching `pattern` arrives. */
export function recordingLogger() {
  const messages: string[] = []
  const waiters: { pattern: RegExp; resolve: () => void }[] = []
  const record = (_fields: unknown, message?: string) => {
    const text = message ?? ''
    messages.push(text)
    for (const waiter of waiters.filter((w) => w.pattern.test(text))) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }
  const logger = { debug: record, info: record, warn: record, error: record } as unknown as Logger
  return {
    logger,
    messages,
    heard: (pattern: RegExp) =>
      messages.some((m) => pattern.test(m))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
  }
}
