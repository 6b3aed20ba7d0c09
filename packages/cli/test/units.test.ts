import { AGENT_STATUSES, PAYLOAD_TYPES, PRIORITIES, TRANSPORT_KINDS } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { parseDuration, parseSince } from '../src/durations.js'
import { describeError, ExitCode, exitCodeFor } from '../src/errors.js'
import * as vocabulary from '../src/vocabulary.js'

describe('durations', () => {
  it('reads durations with a unit', () => {
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseDuration('7d')).toBe(604_800_000)
    expect(parseDuration('1w')).toBe(604_800_000)
    expect(parseDuration('1.5h')).toBe(5_400_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('12H')).toBe(43_200_000)
  })

  it('refuses bare numbers and unknown units', () => {
    for (const text of ['7', '', 'h', '2 days', '-1h', '1y'])
      expect(parseDuration(text), text).toBeUndefined()
  })

  it('reads --since as a duration ago or an ISO time', () => {
    const now = Date.UTC(2026, 1, 3, 14, 30)
    expect(parseSince('2h', now)?.toISOString()).toBe('2026-02-03T12:30:00.000Z')
    expect(parseSince('2026-02-01T00:00:00Z', now)?.toISOString()).toBe('2026-02-01T00:00:00.000Z')
    expect(parseSince('2026-02-01', now)?.toISOString()).toBe('2026-02-01T00:00:00.000Z')
    expect(parseSince('2026-02-01T10:00:00+02:00', now)?.toISOString()).toBe('2026-02-01T08:00:00.000Z')
    expect(parseSince('yesterday', now)).toBeUndefined()
    expect(parseSince('Feb 1 2026', now)).toBeUndefined()
  })
})

describe('exit codes', () => {
  it('maps error codes to the documented exit codes', () => {
    expect(exitCodeFor('VALIDATION')).toBe(ExitCode.USAGE)
    expect(exitCodeFor('CONFIG')).toBe(ExitCode.USAGE)
    for (const code of ['AGENT_NOT_FOUND', 'MESSAGE_NOT_FOUND', 'DELIVERY_NOT_FOUND'])
      expect(exitCodeFor(code)).toBe(3)
    for (const code of ['LEASE_LOST', 'INVALID_STATE']) expect(exitCodeFor(code)).toBe(4)
    for (const code of ['STORAGE', 'SCHEMA_VERSION', 'CLOSED', 'SOMETHING_NEW'])
      expect(exitCodeFor(code)).toBe(1)
  })

  it('reports an unexpected error as INTERNAL with exit code 1', () => {
    const report = describeError(new TypeError('x is undefined'), (_e): _e is never => false, 'send')
    expect(report).toMatchObject({ code: 'INTERNAL', message: 'x is undefined', exitCode: 1 })
    expect(report.hint).toContain('AGENT_COMM_LOG_LEVEL=debug')
  })
})

describe('flag choices', () => {
  it('match the protocol', () => {
    expect(vocabulary.PRIORITY_INPUTS).toEqual([...PRIORITIES, 'urgent'])
    expect(vocabulary.PAYLOAD_TYPES).toEqual(PAYLOAD_TYPES)
    expect(vocabulary.AGENT_STATUSES).toEqual(AGENT_STATUSES)
    expect(vocabulary.TRANSPORT_KINDS).toEqual(TRANSPORT_KINDS)
  })
})
