import { ConfigError, ErrorCode } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { parseDuration, parseSince } from '../src/durations.js'
import { describeError, ExitCode, exitCodeFor, hasAgentCommErrorShape, listenFailure } from '../src/errors.js'

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

  it("keeps the code of an agent-comm error from another copy of the protocol (the relay's, the MCP server's)", () => {
    // What an error of @agent-comm/relay's own protocol looks like to the bundle: not its class.
    const foreign = Object.assign(new Error("--port must be a port number (got 'x')"), {
      code: 'CONFIG',
      hint: 'Fix --port.',
    })
    const report = describeError(foreign, (_e): _e is never => false, 'relay:start')
    expect(report).toEqual({
      code: 'CONFIG',
      message: "--port must be a port number (got 'x')",
      hint: 'Fix --port.',
      exitCode: ExitCode.USAGE,
    })
    expect(hasAgentCommErrorShape(new ConfigError('x'))).toBe(true)
    for (const code of Object.values(ErrorCode)) {
      expect(hasAgentCommErrorShape(Object.assign(new Error('x'), { code })), code).toBe(true)
    }
    // Node's system errors have codes too, but not these.
    expect(hasAgentCommErrorShape(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false)
    expect(hasAgentCommErrorShape({ code: 'CONFIG', message: 'not an Error' })).toBe(false)
  })

  it('reports a port that cannot be listened on as UNAVAILABLE, exit 1, with what to do', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' })
    const where = { what: 'relay', host: '127.0.0.1', port: 8420, retry: 'agent-comm relay start' }
    const report = describeError(listenFailure(inUse, where), (_e): _e is never => false, 'relay:start')
    expect(report).toEqual({
      code: 'UNAVAILABLE',
      message: 'The relay cannot listen on 127.0.0.1:8420: the address is already in use',
      hint: 'Stop what uses it, or choose another port (0 picks a free one): agent-comm relay start --port <port>',
      exitCode: 1,
    })
    const denied = listenFailure(Object.assign(new Error('x'), { code: 'EACCES', syscall: 'listen' }), {
      ...where,
      port: 80,
    })
    expect(denied?.hint).toBe(
      'Ports below 1024 need privileges; choose a higher one: agent-comm relay start --port <port>',
    )
    expect(listenFailure(new Error('other'), where)).toBeUndefined()
  })

  it('leaves a data folder it may not make to the error of that folder, not a port below 1024', () => {
    const where = { what: 'relay', host: '127.0.0.1', port: 8420, retry: 'agent-comm relay start' }
    const mkdir = Object.assign(new Error("EACCES: permission denied, mkdir '/var/lib/relay'"), {
      code: 'EACCES',
      syscall: 'mkdir',
      path: '/var/lib/relay',
    })
    expect(listenFailure(mkdir, where)).toBeUndefined()
  })
})
