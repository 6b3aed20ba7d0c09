// The README's Configuration table holds to the code: one row per environment variable the relay reads,
// each with the flag that sets it (or none), and the default it states is the one the relay takes.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadRelayConfig, RELAY_DEFAULTS, RELAY_ENV_VARIABLES, RELAY_USAGE } from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The rows of the table under `## Configuration`: flag (undefined for —), variable, default. */
const rows = (() => {
  const section = readme.slice(readme.indexOf('## Configuration'))
  const lines = section.split('\n')
  const start = lines.findIndex((line) => line.startsWith('| flag |'))
  const found: { flag: string | undefined; variable: string; byDefault: string }[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const [flag = '', variable = '', byDefault = ''] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim())
    found.push({
      flag: /^`--([a-z0-9-]+)`$/.exec(flag)?.[1],
      variable: /^`([A-Z0-9_]+)`$/.exec(variable)?.[1] ?? variable,
      byDefault,
    })
  }
  return found
})()

/** Each flag of the bin's usage and the variable it names: `  --port  … [AGENT_COMM_RELAY_PORT]`. */
const usage = new Map(
  [...RELAY_USAGE.matchAll(/^ {2}--([a-z0-9-]+) .*\[(AGENT_COMM_RELAY_[A-Z0-9_]+)\]$/gm)].map(
    (m) => [m[1] as string, m[2] as string] as const,
  ),
)

describe("the README's Configuration table", () => {
  it('has one row for each variable the relay reads, and no other', () => {
    expect(rows.map((row) => row.variable).sort()).toEqual(Object.keys(RELAY_ENV_VARIABLES).sort())
  })

  it('pairs each flag with the variable it overrides, and marks environment-only variables with —', () => {
    for (const row of rows) {
      const flag = [...usage].find(([, variable]) => variable === row.variable)?.[0]
      expect(row.flag, row.variable).toBe(flag)
    }
    expect(rows.filter((row) => row.flag !== undefined).length).toBe(usage.size)
  })

  it('states the defaults the relay takes', () => {
    const loaded = loadRelayConfig([], {})
    if (loaded.help) throw new Error('unexpected help')
    const config = loaded.config
    // The default each row begins with, and where the relay keeps it.
    const defaults: Record<string, unknown> = {
      AGENT_COMM_RELAY_PORT: config.port,
      AGENT_COMM_RELAY_HOST: config.host,
      AGENT_COMM_RELAY_DATA_DIR: '`./data/relay`:',
      AGENT_COMM_RELAY_PG_SCHEMA: '`agent_comm`',
      AGENT_COMM_RELAY_PG_POOL_SIZE: RELAY_DEFAULTS.poolSize,
      AGENT_COMM_RELAY_PG_NONCE_COMMIT: '`relaxed`:',
      AGENT_COMM_RELAY_PG_CLAIM_COMMIT: '`durable`:',
      AGENT_COMM_RELAY_AUTH_WINDOW_SECONDS: config.authWindowSeconds,
      AGENT_COMM_RELAY_BODY_LIMIT: config.bodyLimitBytes,
      AGENT_COMM_RELAY_RATE_LIMIT: config.rateLimitPerMinute,
      AGENT_COMM_RELAY_MAX_RECIPIENTS: config.maxRecipientsPerMessage,
      AGENT_COMM_RELAY_MAX_DELIVERIES: config.maxDeliveriesPerRequest,
      AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: config.authFailuresPerMinute,
      AGENT_COMM_RELAY_TRUST_PROXY: `\`${config.trustProxy}\`;`,
      AGENT_COMM_RELAY_REQUIRE_AUDIENCE: `${config.requireAudience};`,
      AGENT_COMM_RELAY_ADMIN_ID: config.adminId,
      AGENT_COMM_RELAY_LEASE_SECONDS: config.leaseSeconds,
      AGENT_COMM_RELAY_A2A_MAX_WAITS: config.a2aMaxWaitsPerCaller,
      AGENT_COMM_RELAY_RETENTION_DAYS: `${config.retentionDays}:`,
      AGENT_COMM_RELAY_MAX_WAITS: config.maxWaitsPerAgent,
      AGENT_COMM_RELAY_REQUEST_TIMEOUT_SECONDS: config.requestTimeoutSeconds,
      AGENT_COMM_RELAY_MAX_EVENT_LOOP_DELAY: config.maxEventLoopDelayMs,
      AGENT_COMM_RELAY_MAX_EVENT_LOOP_UTILIZATION: config.maxEventLoopUtilization,
      // No number by default: a share of V8's heap limit, which the machine decides.
      AGENT_COMM_RELAY_MAX_HEAP_USED: `${RELAY_DEFAULTS.maxHeapUsedShare * 100}%`,
      AGENT_COMM_RELAY_MAX_RSS: config.maxRssBytes,
      AGENT_COMM_RELAY_LOG_LEVEL: config.logLevel,
    }
    for (const row of rows) {
      const expected = defaults[row.variable]
      if (expected === undefined) {
        // No default: the setting is off unless given.
        expect(row.byDefault, row.variable).toMatch(/^none/)
        continue
      }
      expect(row.byDefault.split(' ')[0], row.variable).toBe(String(expected))
    }
  })
})
