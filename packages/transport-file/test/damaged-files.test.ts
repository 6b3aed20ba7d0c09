import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { MAX_FILE_BYTES } from '../src/read-file.js'
import { listFiles, openTransport, tempDir } from './helpers.js'
import { jsonLine, startFixture } from './processes.js'

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

/**
 * Claims once in a child process, which is killed if it is still running after `boundMs`: a claim that
 * blocks on a FIFO blocks its whole process, so the bound has to come from outside.
 */
async function claimInChild(root: string, now: number, boundMs = 60_000): Promise<string[]> {
  const child = startFixture('claim.mjs', [root, 'builder', String(now)])
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs)
  try {
    return (await jsonLine<{ subjects: string[] }>(child)).subjects
  } finally {
    clearTimeout(bound)
  }
}

describe('an inbox entry that is not a regular file', () => {
  it('is dead-lettered when it is a directory, with a damaged file of the same pass, and the other messages are delivered', async () => {
    const { logger, entries } = recordingLogger()
    const { transport, root, message } = openTransport({ logger })
    const ids: string[] = []
    for (const subject of ['first', 'folder', 'damaged', 'second']) {
      ids.push((await transport.send(message({ subject }))).messageId)
    }
    const folder = join(root, 'inbox/builder', `${ids[1]}.json`)
    rmSync(folder)
    mkdirSync(folder)
    writeFileSync(join(folder, 'note.txt'), 'made by hand')
    writeFileSync(join(root, 'inbox/builder', `${ids[2]}.json`), '{ "delivery": ')

    const claimed = await transport.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    expect(entries.map((e) => e.fields.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/is a directory, not a regular file; it was not read/)]),
    )
    // Moved aside whole, as it was, like any unreadable entry; the damaged file of the same pass too.
    expect(lstatSync(join(root, 'failed/builder', `${ids[1]}.unreadable`)).isDirectory()).toBe(true)
    expect(listFiles(root)).toEqual(
      expect.arrayContaining([
        `failed/builder/${ids[1]}.unreadable/note.txt`,
        `failed/builder/${ids[2]}.unreadable`,
      ]),
    )
    expect((await transport.status(ids[1] as string)).deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/is a directory/),
    })
    expect((await transport.status(ids[2] as string)).deliveries[0]).toMatchObject({ status: 'failed' })
  })

  it('is kept under a name of its own when an entry kept before holds its name in failed/', async () => {
    const { transport, root, message } = openTransport()
    const ids: string[] = []
    for (const subject of ['first', 'folder', 'second']) {
      ids.push((await transport.send(message({ subject }))).messageId)
    }
    const kept = join(root, 'failed/builder', `${ids[1]}.unreadable`)
    mkdirSync(kept, { recursive: true })
    writeFileSync(join(kept, 'note.txt'), 'kept before')
    const folder = join(root, 'inbox/builder', `${ids[1]}.json`)
    rmSync(folder)
    mkdirSync(folder)
    writeFileSync(join(folder, 'note.txt'), 'made by hand')

    const claimed = await transport.claim('builder', { limit: 10 })
    expect(claimed.map((c) => c.message.subject)).toEqual(['first', 'second'])
    const aside = listFiles(root).filter((f) => f.startsWith(`failed/builder/${ids[1]}.`))
    expect(aside).toEqual([
      expect.stringMatching(new RegExp(`^failed/builder/${ids[1]}\\.[0-9a-f]{12}\\.unreadable/note\\.txt$`)),
      `failed/builder/${ids[1]}.json`,
      `failed/builder/${ids[1]}.unreadable/note.txt`,
    ])
  })

  it.each([
    ['a FIFO', (_outside: string, path: string) => execFileSync('mkfifo', [path])],
    [
      'a symlink to a FIFO',
      (outside: string, path: string) => {
        execFileSync('mkfifo', [outside])
        symlinkSync(outside, path)
      },
    ],
  ])('is dead-lettered without blocking the claim when it is %s', async (_kind, make) => {
    const { transport, clock, root, message } = openTransport()
    const ids: string[] = []
    for (const subject of ['first', 'pipe', 'second']) {
      ids.push((await transport.send(message({ subject }))).messageId)
    }
    const path = join(root, 'inbox/builder', `${ids[1]}.json`)
    rmSync(path)
    make(join(tempDir(), 'pipe'), path)

    expect(await claimInChild(root, clock.now())).toEqual(['first', 'second'])
    expect((await transport.status(ids[1] as string)).deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/is a FIFO, not a regular file/),
    })
    expect(lstatSync(join(root, 'failed/builder', `${ids[1]}.unreadable`)).isFile()).toBe(false)
  })
})
