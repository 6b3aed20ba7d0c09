// Text that came from an agent (subjects, bodies, questions, action names, arguments, context, reasons) is
// hostile input. Rendering it as text keeps it from becoming HTML, but some characters still change how
// the text reads: U+202E (right-to-left override) shows "gnp.exe" stored as "exe.png", the isolates and
// marks reorder words, U+2028 breaks a line. A person approving an action must read what is stored, so
// every such character is shown as a visible escape — the rule the CLI and the MCP server follow, from its
// one home (`@agent-comm/protocol/terminal-text`, free of zod), bundled into the page.

import { safeBlock, safeJson } from '@agent-comm/protocol/terminal-text'

/**
 * Agent-supplied text as the page shows it: line feeds (CRLF taken as one) and tabs kept, every character
 * that would reorder or hide text shown as an escape (`\u202e`).
 */
export function visible(text: string): string {
  return safeBlock(text)
}

/**
 * A JSON value (arguments, context) as indented JSON text with those characters as `\u` escapes — valid
 * JSON that parses back to exactly the value (they can only occur inside its strings).
 */
export function visibleJson(value: unknown): string {
  return value === undefined ? '' : safeJson(value, 2)
}
