// The packaging check's own tests: its checks, fed packages that are wrong in one way each. The root `test`
// script runs them after the workspace's (scripts/ is no workspace package, so turbo does not).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
  },
})
