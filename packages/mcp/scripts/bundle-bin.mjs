// Bundles what the `agent-comm-mcp` command loads before it answers `initialize` (dist/main.js: the MCP
// SDK with ajv and zod-to-json-schema under it, and this package's tools) into dist/main.bundle.js, and
// what it imports later (the HTTP transport, the relay secret store) into dist/bundle.chunk.*.js.
//
// Why: Node spends most of the start-up resolving and loading ~140 small files of the SDK and its
// dependencies; one file loads faster (figures in README.md, "Benchmark"). The library entry
// (dist/index.js) is not bundled.
//
// What stays external, imported at run time as declared dependencies: zod and the @agent-comm packages.
// They must be the very instances the coordinator uses: errors are recognised with `instanceof`
// (@agent-comm/protocol) and tool schemas mix our zod objects with the protocol's.
import { readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const dist = join(root, 'dist')

for (const file of readdirSync(dist)) {
  if (file.startsWith('bundle.chunk.') || file.startsWith('main.bundle.')) rmSync(join(dist, file))
}
await build({
  entryPoints: { 'main.bundle': join(dist, 'main.js') },
  outdir: dist,
  // The HTTP server and the relay secret store are imported on use: a stdio start never parses them.
  splitting: true,
  chunkNames: 'bundle.chunk.[name]-[hash]',
  bundle: true,
  minify: true,
  // The licence notices of the bundled packages (MIT) stay in the files.
  legalComments: 'eof',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['@agent-comm/*', 'zod', 'zod/*', 'better-sqlite3'],
  logLevel: 'warning',
})
