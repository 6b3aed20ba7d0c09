// The CLI's text output escapes remote content with the project's one rule for hostile text, which lives
// in `@agent-comm/protocol/terminal-text` (the MCP server uses it too). `--json` output is left exact
// (JSON escapes C0 itself).
export { safeBlock, safeIndentedBlock, safeLine } from '@agent-comm/protocol/terminal-text'
