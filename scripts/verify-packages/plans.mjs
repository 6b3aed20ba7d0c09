// What the packaging check installs for each published package and what its example must print.
//
// `install` is the README's install line: the package, plus packages its example imports directly, which
// must already be among its runtime dependencies (so the measured install is the package's own). `example`
// is the file in the package folder that the README shows right after the install line; the scratch app
// type-checks it with tsc and runs the compiled ES module. `output` is what its stdout must match.

/** Packages that only the relay, the MCP server and the CLI may bring along. */
export const HEAVY = ['fastify', '@oclif/core', '@modelcontextprotocol/sdk']

export const PLANS = {
  '@agent-comm/protocol': {
    install: ['@agent-comm/protocol'],
    example: 'examples/message.ts',
    output: /^task msg_\w+ from architect to builder \(high\)\nrejected: VALIDATION\n$/,
    // Nothing but zod, ever: every other package and every non-TypeScript client starts here.
    onlyDependencies: ['zod'],
  },
  '@agent-comm/spool': {
    install: ['@agent-comm/spool'],
    example: 'examples/embed.ts',
    output: /^architect → builder: Task: Auth\nacked: 1, queued: 0\n$/,
  },
  '@agent-comm/registry': {
    install: ['@agent-comm/registry', '@agent-comm/spool'],
    example: 'examples/registry.ts',
    output: /^reviewers: reviewer \(active, http\)\n$/,
  },
  '@agent-comm/postgres': {
    install: ['@agent-comm/postgres', '@agent-comm/spool'],
    example: 'examples/postgres.ts',
    output: /^architect → builder: Task: Auth\nacked: 1, queued: 0\n$/,
    // Its example runs against a database created for it on the local server (DATABASE_URL), dropped after.
    postgres: true,
  },
  '@agent-comm/transport-sqlite': {
    install: ['@agent-comm/transport-sqlite', '@agent-comm/protocol'],
    example: 'examples/transport.ts',
    output: /^builder got: Implement auth\n$/,
  },
  '@agent-comm/transport-file': {
    install: ['@agent-comm/transport-file', '@agent-comm/protocol'],
    example: 'examples/transport.ts',
    output: /^builder got: Implement auth\nfiles in acked\/builder: 1\n$/,
  },
  '@agent-comm/transport-http': {
    install: ['@agent-comm/transport-http'],
    example: 'examples/signing.ts',
    output: /^signed by agent-b: true\nforged: false\n$/,
  },
  '@agent-comm/secrets': {
    install: ['@agent-comm/secrets'],
    example: 'examples/rotate.ts',
    output: /^old works: true, new works: true\nbuilder: 2 active secrets\nafter revoke: false\n$/,
  },
  '@agent-comm/coordinator': {
    install: ['@agent-comm/coordinator'],
    example: 'examples/coordinator.ts',
    output: /^builder: Task: Auth\narchitect: Re: Task: Auth — Done: PR #456\n$/,
  },
  '@agent-comm/bridge': {
    install: ['@agent-comm/bridge', '@agent-comm/coordinator'],
    example: 'examples/function-bridge.ts',
    output: /^bridge handled 1 message\(s\)\narchitect got: Done: Task: Auth\n$/,
  },
  '@agent-comm/a2a': {
    install: ['@agent-comm/a2a', '@agent-comm/registry', '@agent-comm/spool', 'fastify'],
    example: 'examples/card.ts',
    output:
      /^helper: 1 skill\(s\) at https:\/\/relay\.example\.com\/a2a\/helper\nacme may call helper: true\n$/,
    allowHeavy: ['fastify'],
  },
  '@agent-comm/mcp': {
    install: ['@agent-comm/mcp', '@modelcontextprotocol/sdk'],
    example: 'examples/client.ts',
    output: /^agent-comm \d+\.\d+\.\d+\S* offers \d+ tools: comm_\w+.*\nregistered builder\n$/,
    allowHeavy: ['@modelcontextprotocol/sdk'],
    // The bin's bundle (scripts/bundle-bin.mjs): built from dist/main.js, it has no source of its own.
    generated: /^dist\/(main\.bundle|bundle\.chunk\.)/,
  },
  '@agent-comm/console': {
    install: ['@agent-comm/console', 'fastify'],
    example: 'examples/serve.ts',
    output: /^console page: 200, scripts from self only\n$/,
    allowHeavy: ['fastify'],
  },
  '@agent-comm/relay': {
    install: ['@agent-comm/relay'],
    example: 'examples/start.ts',
    output: /^relay at http:\/\/127\.0\.0\.1:\d+: ok\n$/,
    allowHeavy: ['fastify'],
  },
  '@agent-comm/cli': {
    install: ['@agent-comm/cli'],
    // The CLI's example is the README's Quick Test, which test/quick-test.sh runs through the installed bin.
    quickTest: 'test/quick-test.sh',
    // Written by scripts/bundle-runtime.mjs and scripts/command-index.mjs, not by tsc.
    generated:
      /^dist\/((hook-)?runtime\.(bundle|chunk\.)|runtime\.file-transport\.js$|send-fast-path\.bundle\.js$|command-index\.json$|vendor\/)/,
    allowHeavy: HEAVY,
  },
}
