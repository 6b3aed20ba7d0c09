import { expect, it } from 'vitest'
import { ChangeFeed } from '../src/change-feed.js'
import type { SqlClient } from '../src/client.js'

/**
 * A client whose LISTEN fails `failures` times, then succeeds: drivers that reject a LISTEN while the
 * server is down (rather than queueing it, as postgres.js does) take this path.
 */
function flakyClient(failures: number) {
  let attempts = 0
  let notify: ((payload: string) => void) | undefined
  let listening = 0
  const client: SqlClient = {
    query: async () => [],
    transaction: async () => {
      throw new Error('not used')
    },
    async listen(_channel, onNotify) {
      attempts++
      if (attempts <= failures)
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
      notify = onNotify
      listening++
      return async () => {
        listening--
      }
    },
    end: async () => {},
  }
  return { client, attempts: () => attempts, listening: () => listening, send: () => notify?.('') }
}

it('retries a LISTEN that failed, warns once without the password, and hints when it finally listens', async () => {
  const flaky = flakyClient(2)
  const warnings: string[] = []
  const noop = () => {}
  const logger = { debug: noop, info: noop, error: noop, warn: (_: unknown, m: string) => warnings.push(m) }
  const feed = new ChangeFeed(flaky.client, 'agent_comm_x', 'postgres://u@h/db', logger, { lingerMs: 0 })
  let changes = 0
  const stop = feed.add(() => changes++)
  await expect.poll(() => changes).toBe(1)
  expect(flaky.attempts()).toBe(3)
  expect(warnings).toEqual([expect.stringContaining('The change feed is not listening, retrying')])
  expect(warnings[0]).toContain('postgres://u@h/db')
  flaky.send()
  expect(changes).toBe(2)
  stop()
  await expect.poll(() => flaky.listening()).toBe(0)
  await feed.close()
})

it('shares one LISTEN among watchers and closes it once the last has gone (after the linger)', async () => {
  const flaky = flakyClient(0)
  const noop = () => {}
  const feed = new ChangeFeed(
    flaky.client,
    'c',
    'here',
    { debug: noop, info: noop, warn: noop, error: noop },
    { lingerMs: 0 },
  )
  let a = 0
  let b = 0
  const stopA = feed.add(() => a++)
  const stopB = feed.add(() => b++)
  await expect.poll(() => flaky.listening()).toBe(1)
  flaky.send()
  expect([a, b]).toEqual([2, 2])
  stopA()
  expect(flaky.listening()).toBe(1)
  stopB()
  await expect.poll(() => flaky.listening()).toBe(0)
  expect(flaky.attempts()).toBe(1)
  await feed.close()
  expect(feed.add(() => a++)).toBeTypeOf('function')
  expect(flaky.attempts()).toBe(1)
})

it('keeps the LISTEN for a watcher that comes back within the linger: a wait loop holds one connection', async () => {
  const flaky = flakyClient(0)
  const noop = () => {}
  const logger = { debug: noop, info: noop, warn: noop, error: noop }
  const feed = new ChangeFeed(flaky.client, 'c', 'here', logger, { lingerMs: 3_600_000 })
  let changes = 0
  for (let wait = 0; wait < 5; wait++) {
    const stop = feed.add(() => changes++)
    await expect.poll(() => flaky.listening()).toBe(1)
    stop()
  }
  expect(flaky.attempts()).toBe(1)
  expect(flaky.listening()).toBe(1)
  const stop = feed.add(() => changes++)
  const before = changes
  flaky.send()
  expect(changes).toBe(before + 1)
  stop()
  await feed.close()
  expect(flaky.listening()).toBe(0)
})
