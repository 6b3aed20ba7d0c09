import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bounds that catch a hang, not slowness: a loaded 2-core CI machine (load 14 has been seen) runs the
    // multi-process tests many times slower than an idle one. Tests wait for events, never for time.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    expect: { poll: { timeout: 120_000 } },
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
  },
})
