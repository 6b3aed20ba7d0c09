// The test runner's own tests: how the closing summary counts reports, including runs that left none.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
  },
})
