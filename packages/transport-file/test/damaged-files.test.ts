import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { MAX_FILE_BYTES } from '../src/atomic.js'
import { listFiles, openTransport } from './helpers.js'

/** A logger that keeps what it is told. */
function recordingLogger() {
  const entries: { level: string; message: string; fields: Record<string, unknown> }[] = []
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    entries.push({ level, message, fields })
  }
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { logger, entries }
}

/** `levels` objects nested in each other, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`

describe('a delivery file that cannot be read', () => {
  it('is left out of claims, reported once naming the file, and the other messages are delivered', async () => {
    const { logger, entries } = recordingLogger()
    const { transport, root, message } = openTransport({ logger })
    const ids: string[] = []
    for (const subject of ['first', 'damaged', 'deep', 'second']) {
      ids.push((await transport.send(message({ subject }))).messageId)
    }
    const damaged = join(root, 'inbox/builder', `${ids[1]}.json`)
    writeFileSync(damaged, '{ "delivery": ')
    // A message 3,000 levels deep, as a hand edit (or an older version) could leave it.
    const deep = join(root, 'inbox/builder', `${ids[2]}.json`)
    const record = JSON.parse(readFileSync(deep, 'utf8'))
    record.message.metadata = 'DEEP'
    writeFileSync(deep, JSON.stringify(record).replace('"DEEP"', nestedText(3_000)))

    const claimed = await transport.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    expect(await transport.claim('builder')).toEqual([])
    expect(entries.map((e) => [e.level, e.fields.path])).toEqual([
      ['warn', damaged],
      ['warn', deep],
    ])
    expect(entries[0]?.fields.reason).toMatch(/is not valid JSON/)
    expect(entries[1]?.fields.reason).toMatch(/message\.metadata: is nested more than 64 levels deep/)
    expect(entries[1]?.message).toMatch(/cannot be read/)
    // Dead-lettered as a nack would: out of the inbox, the sender's status says failed and why, and the
    // file as it was is kept beside the dead letter for a person to inspect.
    const files = listFiles(root)
    for (const id of [ids[1], ids[2]]) {
      expect(files).not.toContain(`inbox/builder/${id}.json`)
      expect(files).toEqual(
        expect.arrayContaining([`failed/builder/${id}.json`, `failed/builder/${id}.unreadable`]),
      )
    }
    const damagedStatus = await transport.status(ids[1] as string)
    expect(damagedStatus.deliveries).toEqual([
      expect.objectContaining({
        recipient: 'builder',
        status: 'failed',
        lastError: expect.stringMatching(/is not valid JSON/),
      }),
    ])
    expect((await transport.status(ids[2] as string)).deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/nested more than 64 levels deep/),
    })
    expect(readFileSync(join(root, 'failed/builder', `${ids[1]}.unreadable`), 'utf8')).toBe('{ "delivery": ')
  })

  it('is dead-lettered unread when it is larger than any valid delivery', async () => {
    const { logger, entries } = recordingLogger()
    const { transport, root, message } = openTransport({ logger })
    const huge = message({ subject: 'huge' })
    await transport.send(huge)
    await transport.send(message({ subject: 'next' }))
    // Sparse: the size is there without the bytes, and the transport must not try to read them.
    truncateSync(join(root, 'inbox/builder', `${huge.id}.json`), MAX_FILE_BYTES + 1)

    expect((await transport.claim('builder', { limit: 1 })).map((c) => c.message.subject)).toEqual(['next'])
    expect(entries[0]?.fields.reason).toMatch(/more than any valid delivery .*it was not read/)
    expect((await transport.status(huge.id)).deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/it was not read/),
    })
  })
})
