// The README states the bounds' values beside their names (`DEFAULT_LEASE_SECONDS` 60): each is the value
// the constant has, so a change of a default shows in the README's review.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as bounds from '../src/bounds.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe("the README's bounds", () => {
  it('are the values of the constants they name', () => {
    const stated = [...readme.matchAll(/`([A-Z][A-Z0-9_]+)` (\d[\d,]*)/g)]
    expect(stated.length).toBeGreaterThan(3)
    const values: Record<string, unknown> = bounds
    for (const [, name = '', value = ''] of stated) {
      expect(values[name], name).toBe(Number(value.replaceAll(',', '')))
    }
  })
})
