import type { BridgeResult } from './bridge.js'

/**
 * Longest failure reason a bridge keeps, in characters (8 KiB). A reason becomes the delivery's last error
 * (which a nack refuses over 64 KiB) and a progress line on a terminal; a runtime's error output can be any
 * size, and its end (the exception, the exit) says the most, so a longer reason keeps its tail.
 */
export const MAX_FAILURE_REASON_LENGTH = 8 * 1024

/**
 * A bridge's failure reason as it is kept and shown: URLs without credentials, query or fragment
 * ({@link redactUrlsIn}), NUL shown as `\0` (no store keeps it), lone UTF-16 surrogates replaced, and at most
 * {@link MAX_FAILURE_REASON_LENGTH} characters, the last ones, after a note saying how many were cut.
 * Control characters are kept: whoever prints the reason escapes them (the CLI does).
 */
export function failureReason(text: string): string {
  const clean = wellFormed(redactUrlsIn(text).replaceAll('\u0000', '\\0'))
  if (clean.length <= MAX_FAILURE_REASON_LENGTH) return clean
  // The note counts in the limit, so a cleaned reason passes through unchanged (the runner cleans again).
  // Its length depends on the count it shows: the count of the longest possible note is used to size it.
  const room = MAX_FAILURE_REASON_LENGTH - cutNote(clean.length).length
  let tail = clean.slice(clean.length - room)
  // The cut can fall inside a surrogate pair: its orphaned second half goes too.
  if (/^[\uDC00-\uDFFF]/.test(tail)) tail = tail.slice(1)
  return `${cutNote(clean.length - tail.length)}${tail}`
}

/** `result` with its failure reason cleaned as {@link failureReason} does; a result without one as it is. */
export function withCleanReason(result: BridgeResult): BridgeResult {
  return result.error === undefined ? result : { ...result, error: failureReason(result.error) }
}

function cutNote(cut: number): string {
  return `[first ${cut} characters cut] …`
}

/** `text` with each lone surrogate replaced by U+FFFD (ES2024's `toWellFormed`, beyond the ES2023 lib). */
function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed()
}

/** A URL as a bridge shows it: without user info, query or fragment, which may hold secrets. */
export function redactUrl(url: URL): string {
  const shown = new URL(url.href)
  shown.username = ''
  shown.password = ''
  shown.search = ''
  shown.hash = ''
  return shown.href
}

/** `text` with every URL in it shown as {@link redactUrl} does. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (match) => {
    try {
      return redactUrl(new URL(match))
    } catch {
      // Not a URL the parser takes: at least its user info goes.
      return match.replace(/\/\/[^/@\s]*@/, '//')
    }
  })
}
