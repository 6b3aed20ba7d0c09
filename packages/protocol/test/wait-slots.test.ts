import { describe, expect, it } from 'vitest'
import { WaitSlots } from '../src/wait-slots.js'

describe('WaitSlots', () => {
  it('refuses a caller its max + 1st slot and gives one back once released, once', () => {
    const slots = new WaitSlots(2)
    const first = slots.acquire('a')
    const second = slots.acquire('a')
    expect(first).toBeTypeOf('function')
    expect(second).toBeTypeOf('function')
    expect(slots.acquire('a')).toBeUndefined()
    expect(slots.acquire('b')).toBeTypeOf('function')
    first?.()
    first?.()
    expect(slots.held('a')).toBe(1)
    expect(slots.acquire('a')).toBeTypeOf('function')
    expect(slots.acquire('a')).toBeUndefined()
  })

  it('counts nothing held once every slot is released, and has no limit at 0', () => {
    const limited = new WaitSlots(3)
    const releases = [1, 2, 3].map(() => limited.acquire('a'))
    for (const release of releases) release?.()
    expect(limited.held()).toBe(0)
    const unlimited = new WaitSlots(0)
    for (let i = 0; i < 1000; i++) expect(unlimited.acquire('a')).toBeTypeOf('function')
    expect(unlimited.held('a')).toBe(1000)
  })
})
