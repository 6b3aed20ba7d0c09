// A `Retry-After` header read the same way by every client of the relay (`@agent-comm/protocol/retry-after`,
// free of zod, so the console's page can use it too): delta-seconds or an HTTP date (RFC 9110 §10.2.3).

/**
 * A `Retry-After` value in ms: delta-seconds, or an HTTP date read against `now` (epoch ms, never below 0);
 * undefined when there is none or it is neither.
 */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim()
  if (text === undefined || text === '') return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
