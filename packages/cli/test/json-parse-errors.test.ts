import { describe, expect, it } from 'vitest'
import { project } from './helpers.js'

describe('--json with a flag that fails to parse', () => {
  for (const args of [
    ['poll', 'alice', '--follow', '--limit', '0'],
    ['bridge', 'alice', '--command', 'true', '--concurrency', '0'],
  ]) {
    it(`${args[0]} exits 2 with one JSON error document, not a crash`, async () => {
      const run = await project().run([...args, '--json'])
      expect(run.code, run.stderr).toBe(2)
      const doc = JSON.parse(run.stdout) as { error: { code: string; message: string } }
      expect(doc.error.code).toBe('VALIDATION')
      expect(doc.error.message).not.toContain('Cannot read properties')
    })
  }
})
