// Text that came from an agent (subjects, bodies, questions, action names, arguments, context, reasons) is
// hostile input. Rendering it as text keeps it from becoming HTML, but some characters still change how
// the text reads: U+202E (right-to-left override) shows "gnp.exe" stored as "exe.png", the isolates and
// marks reorder words, U+2028 breaks a line. A person approving an action must read what is stored, so
// every such character is shown as a visible escape — the same set the CLI escapes on a terminal
// (packages/cli/src/terminal-text.ts).

/**
 * Characters shown escaped: C0 controls (but tab and line feed), DEL, C1 controls, the bidirectional
 * marks, embeddings, overrides and isolates, and the Unicode line and paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu

/** `\x1b` for the characters up to 0xFF, `\u202e` above, `\r` for a carriage return. */
function escapeChar(char: string): string {
  const code = char.codePointAt(0)!
  if (code === 0x0d) return '\\r'
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * Agent-supplied text as the page shows it: line feeds (CRLF taken as one) and tabs kept, every character
 * that would reorder or hide text shown as an escape (`\u202e`).
 */
export function visible(text: string): string {
  return text.replaceAll('\r\n', '\n').replace(UNSAFE, escapeChar)
}

/**
 * A JSON value (arguments, context) as indented JSON text with those characters as `\u` escapes — valid
 * JSON that parses back to exactly the value (they can only occur inside its strings).
 */
export function visibleJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? '').replace(
    UNSAFE,
    (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  )
}
