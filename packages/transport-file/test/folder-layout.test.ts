import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeliveryRecordSchema, FileTransport, MessageRecordSchema } from '../src/index.js'
import { listFiles, openTransport } from './helpers.js'

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'))

describe('the folder layout', () => {
  it('keeps every message as plain readable JSON in the documented folders', async () => {
    const { transport, root, message } = openTransport()
    const done = message({ body: 'ship it' })
    const broken = message({ body: 'fails' })
    await transport.send(done)
    await transport.send(broken, { maxAttempts: 1 })
    expect(listFiles(root)).toEqual(
      [
        `inbox/builder/${done.id}.json`,
        `inbox/builder/${broken.id}.json`,
        `messages/${done.id}.json`,
        `messages/${broken.id}.json`,
      ].sort(),
    )

    const queuedText = readFileSync(join(root, 'inbox/builder', `${done.id}.json`), 'utf8')
    // Pretty-printed, delivery state first: what a person running `cat` wants to see.
    expect(
      queuedText.startsWith('{\n  "delivery": {\n    "recipient": "builder",\n    "status": "queued"'),
    ).toBe(true)
    expect(DeliveryRecordSchema.parse(JSON.parse(queuedText))).toMatchObject({
      delivery: { status: 'queued', attempt: 0, maxAttempts: 3, lastError: null },
      message: done,
    })
    expect(MessageRecordSchema.parse(readJson(join(root, 'messages', `${done.id}.json`)))).toMatchObject({
      message: done,
      recipients: ['builder'],
      maxAttempts: 3,
    })

    const [first, second] = await transport.claim('builder', { leaseSeconds: 30 })
    const leaseName = `${first!.message.id}~${Date.parse(first!.lease.leaseUntil)}~${first!.lease.receipt}.json`
    expect(listFiles(join(root, 'leased'))).toContain(`builder/${leaseName}`)
    expect(listFiles(join(root, 'inbox'))).toEqual([])
    expect(readJson(join(root, 'leased/builder', leaseName))).toMatchObject({
      delivery: {
        status: 'leased',
        attempt: 1,
        receipt: first!.lease.receipt,
        leaseUntil: first!.lease.leaseUntil,
      },
    })

    await transport.ack(done.id, 'builder', { receipt: first!.lease.receipt })
    await transport.nack(broken.id, 'builder', { receipt: second!.lease.receipt, reason: 'disk full' })
    expect(listFiles(root)).toEqual(
      [
        `acked/builder/${done.id}.json`,
        `failed/builder/${broken.id}.json`,
        `messages/${done.id}.json`,
        `messages/${broken.id}.json`,
      ].sort(),
    )
    expect(readJson(join(root, 'acked/builder', `${done.id}.json`))).toMatchObject({
      delivery: { status: 'acked', attempt: 1, ackedAt: expect.any(String), leaseUntil: null },
    })
    expect(readJson(join(root, 'failed/builder', `${broken.id}.json`))).toMatchObject({
      delivery: { status: 'failed', attempt: 1, lastError: 'disk full' },
    })
  })

  it('renames a lease to its new end when it is extended', async () => {
    const { transport, clock, root } = openTransport()
    const { messageId } = await transport.send(openTransport().message())
    const [claimed] = await transport.claim('builder', { leaseSeconds: 10 })
    clock.advance(5_000)
    const { leaseUntil } = await transport.extendLease(messageId, 'builder', {
      receipt: claimed!.lease.receipt,
      leaseSeconds: 60,
    })
    expect(listFiles(join(root, 'leased'))).toEqual([
      `builder/${messageId}~${Date.parse(leaseUntil)}~${claimed!.lease.receipt}.json`,
    ])
  })

  it('lets a second transport on the same folder see and claim what the first sent', async () => {
    const { transport, root, clock, message } = openTransport()
    const other = new FileTransport({ root, clock })
    try {
      const { messageId } = await transport.send(message())
      const [claimed] = await other.claim('builder')
      expect(claimed?.message.id).toBe(messageId)
      expect(await transport.claim('builder')).toEqual([])
      await transport.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
      expect((await other.status(messageId)).deliveries[0]?.status).toBe('acked')
    } finally {
      await other.close()
    }
  })

  it('re-reads a queued file that changed on disk', async () => {
    const { transport, root, message } = openTransport()
    const low = await transport.send(message({ body: 'low', priority: 'low' }))
    const normal = await transport.send(message({ body: 'normal' }))
    expect(await transport.waitForMessages('builder', { timeoutMs: 0 })).toBe(true)
    // A person bumps the low message to critical by editing its file.
    const path = join(root, 'inbox/builder', `${low.messageId}.json`)
    const record = DeliveryRecordSchema.parse(readJson(path))
    writeFileSync(path, JSON.stringify({ ...record, message: { ...record.message, priority: 'critical' } }))
    const claimed = await transport.claim('builder')
    expect(claimed.map((c) => c.message.id)).toEqual([low.messageId, normal.messageId])
    expect(claimed[0]?.message.priority).toBe('critical')
  })

  it('claims a delivery file a person dropped into an inbox by hand', async () => {
    const { transport, root, message } = openTransport()
    const { messageId } = await transport.send(message({ body: 'template' }))
    const template = DeliveryRecordSchema.parse(readJson(join(root, 'inbox/builder', `${messageId}.json`)))
    const handmade = { ...template, message: { ...template.message, id: 'msg_by_hand', body: 'hello' } }
    writeFileSync(join(root, 'inbox/builder', 'msg_by_hand.json'), JSON.stringify(handmade))
    // Misnamed, so it cannot be read: dead-lettered, moved aside as it was (see damaged-files.test.ts).
    writeFileSync(join(root, 'inbox/builder', 'msg_misnamed.json'), JSON.stringify(handmade))
    const claimed = await transport.claim('builder')
    expect(claimed.map((c) => c.message.body).sort()).toEqual(['hello', 'template'])
    expect(listFiles(root)).toContain('failed/builder/msg_misnamed.unreadable')
    expect(listFiles(root)).not.toContain('inbox/builder/msg_misnamed.json')
    const byHand = claimed.find((c) => c.message.id === 'msg_by_hand')!
    expect(await transport.ack('msg_by_hand', 'builder', { receipt: byHand.lease.receipt })).toMatchObject({
      alreadyAcked: false,
    })
  })

  it('rejects bad options with a message naming the option', async () => {
    expect(() => new FileTransport({ root: '' })).toThrow(/root/)
    const { transport, message } = openTransport()
    await expect(transport.claim('builder', { limit: 0 })).rejects.toThrow(/limit: must be at least 1/)
    await expect(transport.claim('builder', { leaseSeconds: -1 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(transport.send(message({ toAgent: '*' }))).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('recipients'),
    })
  })

  it('refuses a root it cannot create, under /proc too, with a STORAGE error instead of hanging', () => {
    // Node's recursive mkdir retries forever under /proc (ENOENT at every level), deaf to signals.
    expect(() => new FileTransport({ root: '/proc/agent-comm-test/inboxes' })).toThrow(
      expect.objectContaining({
        code: 'STORAGE',
        message: expect.stringContaining('/proc/agent-comm-test'),
      }),
    )
  })
})
