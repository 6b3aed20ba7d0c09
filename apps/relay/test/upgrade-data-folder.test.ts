// A relay data folder written by an older relay (test/fixtures/upgrade, see its README), served by this one:
// its agents' secrets still authenticate and its queued, leased and dead-lettered mail is as it was.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { createMessage, ManualClock } from '@agent-comm/protocol'
import { RelayClient } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { RELAY_DB_FILE, relayConfig, SECRETS_FILE_NAME, startRelay } from '../src/index.js'
import { createRelayLogger } from '../src/logger.js'
import { onCleanup, tempDir } from './helpers.js'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'upgrade', 'round1-4ffc863')
/** The old relay's last write (ms): the tests' clock starts a minute later. */
const WRITTEN_AT = 1796033635315
const ONE = 'msg_01M8NZ4JD7FSHKS3APBH7YAYFV'
const TWO = 'msg_01M8NZ4KKEC6W7ZRQZVX5222JN'

/** The secrets the old relay made, read from the fixture's own secrets.json. */
const stored = JSON.parse(readFileSync(join(FIXTURE, SECRETS_FILE_NAME), 'utf8')) as {
  agents: Record<string, { secret: string; expiresAt: number | null }[]>
}
const secretOf = (agent: string, index = 0) => stored.agents[agent]?.[index]?.secret

/** This relay on a copy of the old data folder, with a client signing with `secretFor`. */
async function startOnFixture(secretFor: (agent: string) => string | undefined = (agent) => secretOf(agent)) {
  const dataDir = join(tempDir(), 'relay')
  mkdirSync(dataDir, { mode: 0o700 })
  writeFileSync(join(dataDir, RELAY_DB_FILE), gunzipSync(readFileSync(join(FIXTURE, 'relay.db.gz'))), {
    mode: 0o600,
  })
  copyFileSync(join(FIXTURE, SECRETS_FILE_NAME), join(dataDir, SECRETS_FILE_NAME))
  const clock = new ManualClock(WRITTEN_AT + 60_000)
  const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'silent' }), {
    clock,
    logger: createRelayLogger({ level: 'silent' }),
  })
  onCleanup(() => relay.close())
  const client = new RelayClient({ baseUrl: relay.url, secretFor, clock, retries: 0 })
  onCleanup(() => client.close())
  return { relay, client, clock }
}

describe('a relay data folder written by the relay at 4ffc863', () => {
  it('serves the mail the old relay queued, in its order, and keeps the lease it granted', async () => {
    const { client } = await startOnFixture()
    // Two (critical) is leased for an hour and One is dead-lettered: Three, then the broadcast.
    const claimed = await client.claim('agent-b', { limit: 10 })
    expect(claimed.map((c) => [c.message.subject, c.message.fromAgent, c.lease.attempt])).toEqual([
      ['Three', 'agent-a', 1],
      ['Bcast', 'agent-a', 1],
    ])
    expect((await client.claim('agent-c', { limit: 10 })).map((c) => c.message.toAgent)).toEqual(['*'])
    expect((await client.status(TWO, { as: 'agent-b' })).deliveries).toMatchObject([
      { recipient: 'agent-b', status: 'leased', attempt: 1 },
    ])
  })

  it('keeps the dead letter with its error', async () => {
    const { client } = await startOnFixture()
    expect((await client.status(ONE, { as: 'agent-b' })).deliveries).toMatchObject([
      { recipient: 'agent-b', status: 'failed', attempt: 1, lastError: 'cannot parse' },
    ])
  })

  it("authenticates the old relay's secrets, a rotated agent's previous one too until its grace ends", async () => {
    const { client, clock } = await startOnFixture()
    const sent = await client.send(
      createMessage({ fromAgent: 'agent-a', toAgent: 'agent-b', body: 'after the upgrade' }),
    )
    expect(sent.deliveries).toBe(1)
    const previous = stored.agents['agent-c']?.find((entry) => entry.expiresAt !== null)
    expect(previous?.expiresAt).toBeGreaterThan(clock.now())
    const withPrevious = await startOnFixture((agent) => (agent === 'agent-c' ? previous?.secret : undefined))
    await expect(withPrevious.client.claim('agent-c')).resolves.toHaveLength(1)
    withPrevious.clock.set(previous!.expiresAt! + 1000)
    await expect(withPrevious.client.claim('agent-c')).rejects.toMatchObject({ relayCode: 'UNAUTHENTICATED' })
  })
})
