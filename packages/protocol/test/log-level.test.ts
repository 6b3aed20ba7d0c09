import { describe, expect, it } from 'vitest'
import { DEFAULT_LOG_LEVEL, readLogLevel } from '../src/index.js'

describe('readLogLevel', () => {
  it.each([
    ['debug', 'debug'],
    [' DEBUG\n', 'debug'],
    ['Silent', 'silent'],
  ])(
    'reads %j as the level %s: trimmed and in any case, as AGENT_COMM_LOG_LEVEL is written',
    (value, level) => {
      expect(readLogLevel(value)).toBe(level)
    },
  )

  it.each([undefined, '', 'verbose'])('names no level for %j, so the caller takes its default', (value) => {
    expect(readLogLevel(value)).toBeUndefined()
  })

  it('has warn as the default level', () => {
    expect(DEFAULT_LOG_LEVEL).toBe('warn')
  })
})
