// A2A timestamps as callers send them (ListTasks' `statusTimestampAfter`): RFC 3339, as proto3 JSON reads
// a `google.protobuf.Timestamp` — `2025-10-27T10:00:00Z`, up to 9 fractional digits, `Z` or an offset.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i

/** What a bad timestamp is told (after the name of the field). */
export const TIMESTAMP_PROBLEM = 'must be an ISO 8601 timestamp such as 2025-10-27T10:00:00Z'

/**
 * The time of `value` in ms since the epoch, rounded up to the next ms when it has finer digits (tasks
 * are timed to the ms, so "at or after" keeps its meaning); undefined when it is not an RFC 3339 timestamp
 * of a real date and time (`2025-02-30T…`, hour 24 and the like are refused, not rolled over).
 */
export function parseTimestamp(value: string): number | undefined {
  const match = RFC3339.exec(value)
  if (match === null) return undefined
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match
  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const [y, mo, d, h, mi, s] = fields
  // Set field by field: Date.UTC would take years 0–99 as 1900–1999 (proto's earliest is 0001-01-01).
  const local = new Date(0)
  local.setUTCFullYear(y, mo - 1, d)
  local.setUTCHours(h, mi, s, 0)
  // An impossible date rolls over (Feb 30 → Mar 2): a rolled-over date is not the one sent.
  if (
    local.getUTCFullYear() !== y ||
    local.getUTCMonth() !== mo - 1 ||
    local.getUTCDate() !== d ||
    local.getUTCHours() !== h ||
    local.getUTCMinutes() !== mi ||
    local.getUTCSeconds() !== s
  )
    return undefined
  let offsetMinutes = 0
  if (zone.toUpperCase() !== 'Z') {
    const offsetHours = Number(zone.slice(1, 3))
    const minutes = Number(zone.slice(4, 6))
    if (offsetHours > 23 || minutes > 59) return undefined
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + minutes)
  }
  const digits = fraction.padEnd(9, '0')
  const ms = Number(digits.slice(0, 3)) + (/[1-9]/.test(digits.slice(3)) ? 1 : 0)
  return local.getTime() - offsetMinutes * 60_000 + ms
}
