// Text that came from another agent (subjects, bodies, devices, reasons, relay errors) ends up before a
// person: in a terminal that obeys control sequences (ESC [2J clears the screen, OSC 0 sets the window
// title, OSC 52 writes the clipboard), or read by an assistant whose client prints it in a terminal.
// U+202E and its kin make text read in another order than it is stored. The rule "message text is hostile
// everywhere it is shown" has its home here, free of zod (`@agent-comm/protocol/terminal-text`): the CLI
// escapes its text output with it, the MCP server its tool text, resource titles and notifications.

/**
 * Characters shown escaped: C0 controls (but tab and line feed, handled per mode), DEL, C1 controls (0x9B
 * is a one-byte CSI to many terminals), the bidirectional overrides, embeddings and isolates (which make
 * text read in another order than it is stored), and the Unicode line and paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu

/** `\x1b` for ESC and the other characters up to 0xFF, `\u202e` above. */
function escapeChar(char: string): string {
  const code = char.codePointAt(0)!
  if (code === 0x0d) return '\\r'
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * One line of output: every control character shown escaped, line breaks and tabs too (`\n`, `\t`), so
 * a subject or a device name stays on its line.
 */
export function safeLine(text: string): string {
  return text.replace(UNSAFE, escapeChar).replaceAll('\n', '\\n').replaceAll('\t', '\\t')
}

/**
 * A multi-line text such as a message body: line feeds (and CRLF, taken as one line feed) and tabs are
 * kept so it reads as written; every other control character is shown escaped, a lone CR included (it
 * would overwrite the start of its line). Text that went through `safeLine` or `safeBlock` comes back
 * unchanged, so a whole output may pass through it again.
 */
export function safeBlock(text: string): string {
  return text.replaceAll('\r\n', '\n').replace(UNSAFE, escapeChar)
}

/**
 * A multi-line text set in a column of its own: {@link safeBlock}, with `margin` before every line. No line
 * of it starts where the lines around it do, so a hostile body cannot pass a line of its own off as the
 * output's (a forged `receipt:` line, a second message's header): the CLI indents a body under its label,
 * the MCP server quotes it for the model (`> `).
 */
export function safeIndentedBlock(text: string, margin: string): string {
  return margin + safeBlock(text).replaceAll('\n', `\n${margin}`)
}

/**
 * `value` as JSON text (`JSON.stringify(value, null, space)`) holding no raw control character: JSON
 * escapes C0 itself, and the rest (DEL, C1, bidirectional controls, line and paragraph separators) is
 * written as `\uXXXX` escapes. The text parses back to exactly `value`, yet is inert when printed as is.
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(
    UNSAFE,
    (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  )
}
