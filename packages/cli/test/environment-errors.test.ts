import { AgentCommError } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { describeError, listenFailure } from '../src/errors.js'
import { project, runCli } from './helpers.js'

const notOurs = (_e: unknown): _e is never => false

/** A Node system error as fs and net raise them. */
function systemError(code: string, syscall: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall, errno: -1 })
}

describe('errors of the environment', () => {
  it('reports permission, path and disk errors as STORAGE with what to do, never as a bug', () => {
    const denied = describeError(
      systemError('EACCES', 'mkdir', "EACCES: permission denied, mkdir '/srv/data'"),
      notOurs,
      'register',
    )
    expect(denied).toEqual({
      code: 'STORAGE',
      message: "EACCES: permission denied, mkdir '/srv/data'",
      hint: expect.stringContaining('check its permissions'),
      exitCode: 1,
    })
    for (const code of ['ENOENT', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EPERM']) {
      const report = describeError(systemError(code, 'open', `${code}: x`), notOurs, 'send')
      expect(report.code, code).toBe('STORAGE')
      expect(report.hint, code).not.toContain('bug')
    }
  })

  it('reports network errors as UNAVAILABLE', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRINUSE']) {
      const report = describeError(systemError(code, 'connect', `${code}: x`), notOurs, 'send')
      expect(report, code).toMatchObject({ code: 'UNAVAILABLE', exitCode: 1 })
      expect(report.hint, code).not.toContain('bug')
    }
  })

  it('reports an unreachable relay as UNAVAILABLE, keeping its message and hint', () => {
    const unreachable = new AgentCommError(
      'STORAGE',
      'Cannot reach the relay at http://127.0.0.1:9: fetch failed',
      {
        hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
        details: { relayCode: 'UNAVAILABLE' },
      },
    )
    expect(describeError(unreachable, notOurs, 'send')).toEqual({
      code: 'UNAVAILABLE',
      message: 'Cannot reach the relay at http://127.0.0.1:9: fetch failed',
      hint: 'Check that the relay is running (agent-comm relay start) and that this URL and port are reachable.',
      exitCode: 1,
    })
  })

  it('says what a --host that is not a host name means', () => {
    const where = { what: 'relay', host: 'no-such-host.invalid', port: 8420, retry: 'agent-comm relay start' }
    const failure = listenFailure(systemError('ENOTFOUND', 'getaddrinfo', 'getaddrinfo ENOTFOUND'), where)
    expect(failure?.message).toBe('The relay cannot listen on no-such-host.invalid:8420: no such host name')
    expect(failure?.hint).toContain('--host 127.0.0.1')
  })

  it('still calls a real programming error a bug', () => {
    expect(describeError(new TypeError('x is undefined'), notOurs, 'send').code).toBe('INTERNAL')
  })
})

describe('AGENT_COMM_TRANSPORT=file', () => {
  it('makes register give an agent the file transport and the project folder, unless a transport is named', async () => {
    const p = project()
    const env = { ...p.env, AGENT_COMM_TRANSPORT: 'file', AGENT_COMM_PROJECT_ROOT: p.dir }
    const run = await runCli(['register', 'watcher', '-c', 'notify', '-d', 'nas', '--json'], {
      cwd: p.dir,
      env,
    })
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).agent).toMatchObject({
      transport: 'file',
      inboxDir: `${p.dir}/data/file-transport`,
    })
    const local = await runCli(
      ['register', 'builder', '-c', 'code', '-d', 'here', '--transport-type', 'sqlite', '--json'],
      {
        cwd: p.dir,
        env,
      },
    )
    expect(JSON.parse(local.stdout).agent).toMatchObject({ transport: 'sqlite' })
  })
})
