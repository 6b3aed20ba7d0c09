/**
 * The MCP server's defaults over Streamable HTTP, in one place: `startHttpServer` and both command lines
 * (`agent-comm-mcp --http` and `agent-comm mcp --http`, flags and help) are built from these. Free of zod
 * and the MCP SDK (`@agent-comm/mcp/defaults`), so a command line can print them cheaply.
 */
export const MCP_HTTP_DEFAULTS = {
  /**
   * Port of the command lines' `--http`, next to the relay's 8420 and the console's 8421 (`agent-comm
   * console`), so the three run side by side (the library's `startHttpServer` takes 0).
   */
  port: 8422,
  /** Address to bind: loopback, since the tools are not authenticated unless a token is set. */
  host: '127.0.0.1',
  /** Sessions idle (no request) this long are closed, in seconds: 30 minutes. */
  sessionTtlSeconds: 1800,
} as const
