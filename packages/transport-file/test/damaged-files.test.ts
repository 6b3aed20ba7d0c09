import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
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
    // Left where they are, for a person to fix or remove.
    expect(listFiles(root)).toEqual(
      expect.arrayContaining([`inbox/builder/${ids[1]}.json`, `inbox/builder/${ids[2]}.json`]),
    )
  })

  it('is delivered once it has been fixed', async () => {
    const { transport, root, message } = openTransport()
    const sent = message({ subject: 'fixed later' })
    await transport.send(sent)
    const path = join(root, 'inbox/builder', `${sent.id}.json`)
    const good = readFileSync(path, 'utf8')
    writeFileSync(path, good.slice(0, 20))
    expect(await transport.claim('builder')).toEqual([])
    writeFileSync(path, `${good}\n`)
    expect((await transport.claim('builder')).map((c) => c.message.subject)).toEqual(['fixed later'])
  })
})
