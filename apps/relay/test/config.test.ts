import { describe, expect, it } from 'vitest'
import { loadRelayConfig } from '../src/index.js'

/** The configuration `argv` and `env` give (not --help). */
function config(argv: string[], env: Record<string, string> = {}) {
  const loaded = loadRelayConfig(argv, env)
  if (loaded.help) throw new Error('unexpected help')
  return loaded.config
}

describe('relay configuration', () => {
  it('has defaults for everything', () => {
    expect(loadRelayConfig([], {}, { cwd: '/srv' })).toEqual({
      help: false,
      config: {
        port: 8420,
        host: '127.0.0.1',
        dataDir: '/srv/data/relay',
        authWindowSeconds: 300,
        bodyLimitBytes: 1_048_576,
        requestTimeoutSeconds: 60,
        rateLimitPerMinute: 6000,
        maxRecipientsPerMessage: 1000,
        maxDeliveriesPerRequest: 5000,
        authFailuresPerMinute: 100,
        trustProxy: false,
        requireAudience: false,
        adminId: 'admin',
        leaseSeconds: 60,
        a2aMaxWaitsPerCaller: 20,
        maxWaitsPerAgent: 100,
        maxEventLoopDelayMs: 1000,
        maxEventLoopUtilization: 0,
        maxHeapUsedBytes: undefined,
        maxRssBytes: 0,
        retentionDays: 7,
        logLevel: 'info',
      },
    })
  })

  it('takes the retention in whole days, 0 to keep everything, and refuses anything else naming the variable', () => {
    expect(loadRelayConfig(['--retention-days', '0'], {})).toMatchObject({ config: { retentionDays: 0 } })
    expect(loadRelayConfig([], { AGENT_COMM_RELAY_RETENTION_DAYS: '30' })).toMatchObject({
      config: { retentionDays: 30 },
    })
    expect(() => loadRelayConfig([], { AGENT_COMM_RELAY_RETENTION_DAYS: '1.5' })).toThrow(
      /AGENT_COMM_RELAY_RETENTION_DAYS must be a number of days/,
    )
  })

  it('takes the request timeout in whole seconds from --request-timeout or its variable, from 1 to 3600', () => {
    expect(config(['--request-timeout', '5'])).toMatchObject({ requestTimeoutSeconds: 5 })
    expect(config([], { AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: '120' })).toMatchObject({
      requestTimeoutSeconds: 120,
    })
    expect(
      config(['--request-timeout', '30'], { AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: '120' }),
    ).toMatchObject({ requestTimeoutSeconds: 30 })
    expect(() => config(['--request-timeout', '0'])).toThrow(
      /--request-timeout must be at least 1 \(got '0'\)/,
    )
    expect(() => config([], { AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: '1.5' })).toThrow(
      /AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS must be a number of seconds/,
    )
    expect(() => config(['--request-timeout', '3601'])).toThrow(/must be at most 3600/)
  })

  it('reads the overload limits and the waits per agent, 0 turning each off, and names what it refuses', () => {
    expect(
      config(['--max-event-loop-delay', '0', '--max-heap-used', '2000000000', '--max-waits', '0'], {
        AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION: '0.98',
        AGENT_COMM_RELAY_MAX_RSS: '3000000000',
        AGENT_COMM_RELAY_MAX_WAITS: '5',
      }),
    ).toMatchObject({
      maxEventLoopDelayMs: 0,
      maxEventLoopUtilization: 0.98,
      maxHeapUsedBytes: 2_000_000_000,
      maxRssBytes: 3_000_000_000,
      maxWaitsPerAgent: 0,
    })
    expect(config([], { AGENT_COMM_RELAY_MAX_HEAP_USED: '0' }).maxHeapUsedBytes).toBe(0)
    expect(() => config(['--max-event-loop-delay', '1s'])).toThrow(
      /--max-event-loop-delay must be a number of milliseconds/,
    )
    expect(() => config(['--max-event-loop-utilization', '1'])).toThrow(
      /--max-event-loop-utilization must be a fraction/,
    )
    expect(() => config([], { AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION: '98%' })).toThrow(
      /AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION must be a fraction/,
    )
    expect(() => config(['--max-heap-used', '2GB'])).toThrow(/--max-heap-used must be a number of bytes/)
    expect(() => config([], { AGENT_COMM_RELAY_MAX_RSS: '-1' })).toThrow(/AGENT_COMM_RELAY_MAX_RSS/)
    expect(() => config(['--max-waits', 'many'])).toThrow(/--max-waits must be a number of requests/)
  })

  it('reads environment variables, and lets a flag win over its variable', () => {
    const env = {
      AGENT_COMM_RELAY_PORT: '9000',
      AGENT_COMM_RELAY_HOST: '0.0.0.0',
      AGENT_COMM_RELAY_DATA_DIR: '/var/lib/relay',
      AGENT_COMM_RELAY_ADMIN_SECRET: 'a-long-enough-admin-secret',
      AGENT_COMM_RELAY_RATE_LIMIT: '0',
    }
    const loaded = loadRelayConfig(['--port', '9100', '--auth-window', '60'], env)
    expect(loaded).toMatchObject({
      help: false,
      config: {
        port: 9100,
        host: '0.0.0.0',
        dataDir: '/var/lib/relay',
        authWindowSeconds: 60,
        rateLimitPerMinute: 0,
        adminSecret: 'a-long-enough-admin-secret',
      },
    })
  })

  it('reads the failed-authentication limit and whom to trust behind a reverse proxy', () => {
    expect(config(['--auth-failure-limit', '0']).authFailuresPerMinute).toBe(0)
    expect(config(['--max-recipients', '50']).maxRecipientsPerMessage).toBe(50)
    expect(config(['--a2a-max-waits', '0']).a2aMaxWaitsPerCaller).toBe(0)
    expect(config([], { AGENT_COMM_RELAY_A2A_MAX_WAITS: '5' }).a2aMaxWaitsPerCaller).toBe(5)
    expect(() => config(['--a2a-max-waits', '-1'])).toThrow(/--a2a-max-waits/)
    expect(config(['--audience', 'relay-a.example', '--require-audience', 'true'])).toMatchObject({
      audience: 'relay-a.example',
      requireAudience: true,
    })
    expect(() => config(['--require-audience', 'true'])).toThrow(/needs an audience/)
    expect(config([], { AGENT_COMM_RELAY_MAX_DELIVERIES: '200' }).maxDeliveriesPerRequest).toBe(200)
    expect(config([], { AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: '20' }).authFailuresPerMinute).toBe(20)
    expect(config(['--trust-proxy', 'true']).trustProxy).toBe(true)
    expect(config([], { AGENT_COMM_RELAY_TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(config(['--trust-proxy', '10.0.0.0/8, 127.0.0.1']).trustProxy).toBe('10.0.0.0/8, 127.0.0.1')
    expect(() => config(['--trust-proxy', 'yes please'])).toThrow(
      /--trust-proxy must be true, false, or the proxies' addresses/,
    )
    expect(config([], { AGENT_COMM_RELAY_PG_NONCE_COMMIT: 'durable' }).postgresNonceCommit).toBe('durable')
    expect(config([]).postgresNonceCommit).toBeUndefined()
    expect(() => config([], { AGENT_COMM_RELAY_PG_NONCE_COMMIT: 'never' })).toThrow(
      /AGENT_COMM_RELAY_PG_NONCE_COMMIT must be relaxed or durable/,
    )
    expect(config([], { AGENT_COMM_RELAY_PG_CLAIM_COMMIT: 'relaxed' }).postgresClaimCommit).toBe('relaxed')
    expect(config([]).postgresClaimCommit).toBeUndefined()
    expect(() => config([], { AGENT_COMM_RELAY_PG_CLAIM_COMMIT: 'fast' })).toThrow(
      /AGENT_COMM_RELAY_PG_CLAIM_COMMIT must be durable or relaxed/,
    )
    expect(() => config([], { AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: 'many' })).toThrow(
      /AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT must be a number of requests/,
    )
  })

  it('names the flag or variable of an invalid value, never showing a secret', () => {
    expect(() => loadRelayConfig(['--port', '70000'], {})).toThrow(/--port must be at most 65535/)
    expect(() => loadRelayConfig([], { AGENT_COMM_RELAY_LOG_LEVEL: 'loud' })).toThrow(
      /AGENT_COMM_RELAY_LOG_LEVEL/,
    )
    expect(() => loadRelayConfig([], { AGENT_COMM_RELAY_ADMIN_SECRET: 'tiny' })).toThrow(/\(got \(hidden\)\)/)
    expect(() => loadRelayConfig(['--nope'], {})).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    // The hint says what the setting is, in the words of its description.
    expect(() => loadRelayConfig(['--admin-id', 'no spaces'], {})).toThrow(
      expect.objectContaining({
        hint: "Fix --admin-id, which sets: the operator's agent id (default admin; flag --admin-id).",
      }),
    )
  })

  it('refuses a trusted proxy range no proxy can be in, naming the flag or variable, before the relay starts', () => {
    const proxyList = /must be true, false, or the proxies' addresses\/CIDRs comma-separated/
    expect(() => loadRelayConfig(['--trust-proxy', '10.0.0.0/99'], {})).toThrow(proxyList)
    expect(() => loadRelayConfig([], { AGENT_COMM_RELAY_TRUST_PROXY: '127.0.0.1, ::1/200' })).toThrow(
      /AGENT_COMM_RELAY_TRUST_PROXY must be/,
    )
    expect(() => loadRelayConfig(['--trust-proxy', '10.0.0.0/255.0.255.0'], {})).toThrow(proxyList)
    expect(loadRelayConfig(['--trust-proxy', 'fd00::/8,10.0.0.5/32'], {})).toMatchObject({
      config: { trustProxy: 'fd00::/8,10.0.0.5/32' },
    })
  })

  it("reads the relay's public URL, refusing one a path cannot be appended to", () => {
    expect(config([]).publicUrl).toBeUndefined()
    expect(config(['--public-url', 'https://relay.example.com/']).publicUrl).toBe('https://relay.example.com')
    expect(config([], { AGENT_COMM_RELAY_PUBLIC_URL: 'https://example.com/relay' }).publicUrl).toBe(
      'https://example.com/relay',
    )
    for (const bad of [
      'relay.example.com',
      'ftp://relay.example.com',
      'https://a.example/?x=1',
      'https://u:p@a.example',
    ])
      expect(() => loadRelayConfig(['--public-url', bad], {})).toThrow(
        /--public-url must be an http:\/\/ or https:\/\/ URL without credentials, query or fragment/,
      )
  })

  it('takes the log level in any case and with spaces around it, as AGENT_COMM_LOG_LEVEL is taken', () => {
    expect(config([], { AGENT_COMM_RELAY_LOG_LEVEL: 'WARN' }).logLevel).toBe('warn')
    expect(config([], { AGENT_COMM_RELAY_LOG_LEVEL: ' error\n' }).logLevel).toBe('error')
    expect(config(['--log-level', 'Debug']).logLevel).toBe('debug')
    expect(() => config([], { AGENT_COMM_RELAY_LOG_LEVEL: 'loud' })).toThrow(
      'AGENT_COMM_RELAY_LOG_LEVEL must be one of debug, info, warn, error, silent',
    )
  })

  it('reads the A2A push allow-list from a repeatable flag or a comma-separated variable', () => {
    expect(config([]).a2aPushAllow).toBeUndefined()
    expect(
      config(['--a2a-push-allow', '10.20.0.0/16', '--a2a-push-allow', 'hooks.internal, fd00::/8'])
        .a2aPushAllow,
    ).toEqual(['10.20.0.0/16', 'hooks.internal', 'fd00::/8'])
    expect(config([], { AGENT_COMM_RELAY_A2A_PUSH_ALLOW: '127.0.0.1,192.168.0.0/16' }).a2aPushAllow).toEqual([
      '127.0.0.1',
      '192.168.0.0/16',
    ])
    // The flag wins over the variable.
    expect(
      config(['--a2a-push-allow', '10.0.0.1'], { AGENT_COMM_RELAY_A2A_PUSH_ALLOW: '10.0.0.2' }).a2aPushAllow,
    ).toEqual(['10.0.0.1'])
    expect(config(['--a2a-push-allow', '*']).a2aPushAllow).toBe(true)
    expect(() => config(['--a2a-push-allow', '10.0.0.0/40'])).toThrow(
      /--a2a-push-allow .*CIDR range \(10\.0\.0\.0\/8\), an IP address or a host name/,
    )
    expect(() => config([], { AGENT_COMM_RELAY_A2A_PUSH_ALLOW: 'a b' })).toThrow(
      /AGENT_COMM_RELAY_A2A_PUSH_ALLOW/,
    )
    expect(() => config(['--a2a-push-allow', '*,10.0.0.1'])).toThrow(/--a2a-push-allow/)
  })

  it('asks for the usage with --help', () => {
    expect(loadRelayConfig(['--help'], {})).toEqual({ help: true })
  })
})
