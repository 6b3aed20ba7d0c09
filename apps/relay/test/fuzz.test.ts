import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { startTestRelay, T0 } from './helpers.js'

/** A small seeded generator (mulberry32): the same cases on every run, so a failure can be replayed. */
function random(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  return { next, int, pick }
}

const STRINGS = [
  '',
  ' ',
  'builder',
  'architect',
  '*',
  '..',
  '.',
  '%00',
  '\u0000',
  'a\nb',
  '日本語',
  '🚀',
  '\ud800',
  'x'.repeat(129),
  'x'.repeat(70_000),
  '__proto__',
  'constructor',
  'msg_x',
  '2026-02-03T14:30:00.000Z',
  'not a date',
  'urgent',
  'critical',
  'task_assignment',
  '-1',
  '1e999',
  'null',
]
const NUMBERS = [0, -1, 1, 1.5, 100, 101, 2 ** 31, 2 ** 53 + 2, -0, 1e308, Number.MIN_VALUE]
const KEYS = [
  'message',
  'messages',
  'items',
  'recipients',
  'limit',
  'leaseSeconds',
  'waitMs',
  'receipt',
  'reason',
  'delaySeconds',
  'seconds',
  'agentId',
  'capabilities',
  'transport',
  'relayUrl',
  'metadata',
  'messageIds',
  'acks',
  '__proto__',
  'constructor',
  'prototype',
  'fromAgent',
  'toAgent',
  'body',
  'subject',
  'payload',
  'routing',
  'priority',
  'id',
  'timestamp',
  'version',
]

function value(r: ReturnType<typeof random>, depth: number): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null
    case 1:
      return r.next() < 0.5
    case 2:
      return r.pick(NUMBERS)
    case 3:
    case 4:
      return r.pick(STRINGS)
    case 5:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1))
    default:
      return Object.fromEntries(Array.from({ length: r.int(5) }, () => [r.pick(KEYS), value(r, depth + 1)]))
  }
}

const clock = { now: () => T0 }
/** Percent-encodes any string, a lone surrogate included (as U+FFFD, which is what a client could send). */
const enc = (text: string) =>
  encodeURIComponent(
    text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  )
/** A valid message with one field replaced by something random: close enough to reach deep validation. */
function nearlyValidMessage(r: ReturnType<typeof random>): unknown {
  const message = createMessage(
    { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Go' },
    { clock },
  ) as unknown as Record<string, unknown>
  const key = r.pick([...Object.keys(message), r.pick(KEYS)])
  return { ...message, [key]: value(r, 1) }
}

describe('the relay under random input', () => {
  it('answers every malformed request on every endpoint with a 4xx, never a 500, and stays healthy', async () => {
    const relay = await startTestRelay({ listen: false })
    const doc = (await relay.app.inject({ url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>
    }
    // Not the event stream (it never ends by itself), the long-poll wait (its default wait is long) or
    // the Prometheus text; claim's own wait is bounded by the small numbers generated.
    const operations = Object.entries(doc.paths)
      .filter(([path]) => !/\/(stream|wait)$|^\/metrics$/.test(path))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() as 'GET' })),
      )
    const r = random(20261125)
    const failures: string[] = []
    for (let i = 0; i < 600; i++) {
      const { path, method } = r.pick(operations)
      const url = path.replace(/\{[A-Za-z]+\}/g, () =>
        enc(
          r.next() < 0.5
            ? r.pick(['builder', 'architect', 'msg_x', 'conv_x'])
            : String(r.pick(STRINGS)).slice(0, 300),
        ),
      )
      const query =
        r.next() < 0.3
          ? `?${Array.from({ length: 1 + r.int(3) }, () => `${r.pick(KEYS)}=${enc(String(value(r, 3)))}`).join('&')}`
          : ''
      const shape = r.int(4)
      const body =
        method === 'GET' || shape === 0
          ? undefined
          : shape === 1
            ? { message: nearlyValidMessage(r), ...(r.next() < 0.3 ? { [r.pick(KEYS)]: value(r, 1) } : {}) }
            : shape === 2
              ? { items: Array.from({ length: r.int(3) }, () => ({ message: nearlyValidMessage(r) })) }
              : value(r, 0)
      const agent = r.pick(['builder', 'architect', 'admin'])
      const res = await relay.signed(agent, method, `${url}${query}`, body === undefined ? undefined : body)
      const json = /^application\/json/.test(String(res.headers['content-type']))
      if (res.statusCode >= 500 || (res.statusCode !== 204 && !json)) {
        failures.push(
          `${method} ${url}${query} ${JSON.stringify(body)?.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`,
        )
      }
    }
    expect(failures).toEqual([])
    expect((await relay.app.inject({ url: '/api/v1/health' })).statusCode).toBe(200)
    expect((await relay.spool.verify()).ok).toBe(true)
  }, 60_000)
})
