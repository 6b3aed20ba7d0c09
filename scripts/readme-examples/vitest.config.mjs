// The README examples check: every code block of every README, run as printed (see test/readmes.test.mjs).
// The root `test` script runs it after the workspace's packages are built and tested.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // Examples start processes (the CLI, relays, MCP servers): bounds for a loaded machine, not for speed.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
  },
})
