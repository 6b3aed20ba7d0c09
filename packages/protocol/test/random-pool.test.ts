import { describe, expect, it } from 'vitest'
import { RandomPool } from '../src/index.js'

describe('RandomPool', () => {
  it('hands out each byte once, across refills of its buffer', () => {
    const pool = new RandomPool()
    const seen = new Set<string>()
    // 12-byte receipts: 1,000 of them span three refills of the 4 KiB buffer.
    for (let i = 0; i < 1000; i++) {
      const hex = pool.hex(12)
      expect(hex).toMatch(/^[0-9a-f]{24}$/)
      seen.add(hex)
    }
    expect(seen.size).toBe(1000)
  })

  it('gives bytes in a buffer of their own, which later draws do not change', () => {
    const pool = new RandomPool()
    const first = pool.bytes(16)
    const copy = Buffer.from(first)
    for (let i = 0; i < 600; i++) pool.bytes(16)
    expect(first.equals(copy)).toBe(true)
    expect(pool.bytes(10_000)).toHaveLength(10_000)
    expect(pool.hex(5_000)).toHaveLength(10_000)
  })

  it('draws every byte from the generator it is given, 4 KiB at a time', () => {
    const fills: number[] = []
    const pool = new RandomPool((buffer) => {
      fills.push(buffer.length)
      buffer.fill(7)
    })
    expect(pool.hex(2)).toBe('0707')
    for (let i = 0; i < 300; i++) pool.bytes(16)
    expect(pool.bytes(5_000).every((byte) => byte === 7)).toBe(true)
    expect(fills).toEqual([4096, 4096, 5_000])
  })
})
