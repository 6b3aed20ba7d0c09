const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i

/**
 * Milliseconds in a duration such as `30s`, `30m`, `2h`, `7d` or `1w`, or `undefined` when `text` is not
 * one. A bare number is not accepted: `7` could mean days or seconds, so the unit is required.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim())
  if (match === null) return undefined
  const unit = match[2]!.toLowerCase() as keyof typeof UNIT_MS
  return Number(match[1]) * UNIT_MS[unit]
}

/**
 * The instant `text` names: an ISO-8601 date or date-time, or a duration before `now` (`2h` means two
 * hours ago). `undefined` when it is neither.
 */
export function parseSince(text: string, now: number): Date | undefined {
  const ago = parseDuration(text)
  if (ago !== undefined) return new Date(now - ago)
  // Only ISO forms: Date.parse also takes loose formats whose meaning depends on the locale.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) return undefined
  const ms = Date.parse(text.trim())
  return Number.isNaN(ms) || !isCalendarDate(text.trim()) ? undefined : new Date(ms)
}

/**
 * Whether the date part of an ISO text names a day that exists: `Date.parse` rolls `2026-02-30` over to
 * 2 March instead of refusing it (the relay refuses such timestamps).
 */
function isCalendarDate(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number]
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
}
