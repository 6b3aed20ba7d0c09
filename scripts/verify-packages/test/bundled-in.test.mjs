import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bundledIn } from '../scenarios.mjs'

const dir = mkdtempSync(join(tmpdir(), 'verify-packages-bundle-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A file laid out as esbuild writes the CLI's chunks: a path comment above each bundled module. */
function chunk(text) {
  const file = join(dir, 'runtime.chunk.test.js')
  writeFileSync(file, text)
  return file
}

describe('bundledIn', () => {
  it('names the packages whose modules esbuild bundled into a chunk, from its module comments', () => {
    const file = chunk(
      [
        "import { createRequire as __bundleCreateRequire } from 'node:module'",
        '// ../../node_modules/.pnpm/undici@8.13.1/node_modules/undici/lib/core/symbols.js',
        'var require_symbols = __commonJS({})',
        '// ../../node_modules/.pnpm/@fastify+ajv-compiler@4.0.0/node_modules/@fastify/ajv-compiler/index.js',
        '// ../transport-http/dist/http-transport.js',
        '// ../../apps/relay/dist/secrets.js',
        '// src/runtime.ts',
        '// a comment in the code, not a module',
        'export { require_symbols }',
      ].join('\n'),
    )
    expect([...bundledIn(file)].sort()).toEqual([
      '@agent-comm/relay',
      '@agent-comm/transport-http',
      '@fastify/ajv-compiler',
      'undici',
    ])
  })

  it('names nothing in a module tsc compiled', () => {
    const file = chunk(
      "import { z } from 'zod'\n// Validates the input.\nexport const parse = (v) => z.string().parse(v)\n",
    )
    expect(bundledIn(file)).toEqual(new Set())
  })
})
