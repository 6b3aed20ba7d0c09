import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeAgentTransports, loadConfig } from '../src/index.js'

describe('loadConfig', () => {
  it('uses the documented defaults under the project root', () => {
    expect(loadConfig({}, { cwd: '/work/project' })).toEqual({
      projectRoot: '/work/project',
      dbPath: '/work/project/data/coordination.db',
      defaultTransport: 'sqlite',
      fileRoot: '/work/project/data/file-transport',
      ttlHours: 24,
      leaseSeconds: 60,
      logLevel: 'warn',
    })
  })

  it('reads every AGENT_COMM_ variable, resolving relative paths against the project root', () => {
    const config = loadConfig(
      {
        AGENT_COMM_PROJECT_ROOT: '/srv/agents',
        AGENT_COMM_DB_PATH: 'spool/main.db',
        AGENT_COMM_TRANSPORT: 'file',
        AGENT_COMM_TTL_HOURS: '2.5',
        AGENT_COMM_LEASE_SECONDS: '300',
        AGENT_COMM_LOG_LEVEL: 'debug',
      },
      { cwd: '/elsewhere' },
    )
    expect(config).toMatchObject({
      projectRoot: '/srv/agents',
      dbPath: '/srv/agents/spool/main.db',
      defaultTransport: 'file',
      ttlHours: 2.5,
      leaseSeconds: 300,
      logLevel: 'debug',
    })
    expect(loadConfig({ AGENT_COMM_DB_PATH: '/abs/x.db' }).dbPath).toBe('/abs/x.db')
  })

  it('reads the database setting from AGENT_COMM_DB_PATH_FILE in place of AGENT_COMM_DB_PATH; --db still wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-comm-config-'))
    const file = join(dir, 'database.url')
    const url = 'postgres://agent:S3cret@db.example.com/agents'
    writeFileSync(file, `${url}\n`, { mode: 0o600 })
    const env = { AGENT_COMM_DB_PATH_FILE: file, AGENT_COMM_DB_PATH: '/elsewhere.db' }
    expect(loadConfig(env).dbPath).toBe(url)
    expect(loadConfig(env, { overrides: { dbPath: '/given.db' } }).dbPath).toBe('/given.db')
    // A missing or empty file is a ConfigError naming the variable and the file, never quoting the content.
    for (const [path, text] of [
      [join(dir, 'missing.url'), undefined],
      [join(dir, 'empty.url'), '  \n'],
    ] as const) {
      if (text !== undefined) writeFileSync(path, text)
      let error: unknown
      try {
        loadConfig({ AGENT_COMM_DB_PATH_FILE: path })
      } catch (caught) {
        error = caught
      }
      expect(error).toMatchObject({
        code: 'CONFIG',
        details: { variable: 'AGENT_COMM_DB_PATH_FILE', file: path },
      })
      expect((error as Error).message).toContain(path)
    }
  })

  it('accepts the original guide’s upper-case log level', () => {
    expect(loadConfig({ AGENT_COMM_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug')
  })

  it('treats empty variables as unset', () => {
    expect(loadConfig({ AGENT_COMM_TTL_HOURS: '', AGENT_COMM_TRANSPORT: ' ' }).ttlHours).toBe(24)
  })

  it.each([
    [
      'AGENT_COMM_TTL_HOURS',
      'soon',
      /AGENT_COMM_TTL_HOURS must be a positive number of hours \(got 'soon'\)/,
    ],
    ['AGENT_COMM_TTL_HOURS', '-1', /AGENT_COMM_TTL_HOURS must be a positive number/],
    ['AGENT_COMM_LEASE_SECONDS', '0', /AGENT_COMM_LEASE_SECONDS must be a positive number of seconds/],
    ['AGENT_COMM_TRANSPORT', 'http', /AGENT_COMM_TRANSPORT must be sqlite or file \(got 'http'\)/],
    ['AGENT_COMM_LOG_LEVEL', 'loud', /AGENT_COMM_LOG_LEVEL must be one of debug, info, warn, error, silent/],
  ])('rejects an invalid %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message)
    try {
      loadConfig({ [name]: value })
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG', details: { variable: name } })
    }
  })
})

describe('describeAgentTransports', () => {
  it('counts the agents per transport, with inbox folders and relays, and hides URL credentials', () => {
    expect(describeAgentTransports([])).toBe('no agents registered')
    const base = { capabilities: [], device: 'local', status: 'active' as const, metadata: {} }
    expect(
      describeAgentTransports([
        { ...base, agentId: 'a', transport: 'sqlite' },
        { ...base, agentId: 'b', transport: 'sqlite' },
        { ...base, agentId: 'f', transport: 'file', inboxDir: '/srv/inboxes' },
        { ...base, agentId: 'h', transport: 'http', relayUrl: 'https://me:pw@relay.example:8420/?token=t' },
        { ...base, agentId: 'i', transport: 'http', relayUrl: 'http://10.0.0.2:8420/agents' },
      ]),
    ).toBe(
      '5 agents: 2 sqlite, 1 file (inbox folder /srv/inboxes), 2 http (relays https://relay.example:8420, http://10.0.0.2:8420/agents)',
    )
  })
})
