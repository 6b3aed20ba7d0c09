import { describe, expect, it } from 'vitest'
import { DEFAULT_LOG_LEVEL, readLogLevel } from '../src/index.js'

describe('readLogLevel', () => {
  it('reads a level trimmed and in any case, as AGENT_COMM_LOG_LEVEL is written', () => {
    expect(readLogLevel('debug')).toBe('debug')
    expect(readLogLevel(' DEBUG\n')).toBe('debug')
    expect(readLogLevel('Silent')).toBe('silent')
  })

  it('names no level for an unset, empty or unknown value, so the caller picks its default', () => {
    expect(readLogLevel(undefined)).toBeUndefined()
    expect(readLogLevel('')).toBeUndefined()
    expect(readLogLevel('verbose')).toBeUndefined()
    expect(DEFAULT_LOG_LEVEL).toBe('warn')
  })
})
