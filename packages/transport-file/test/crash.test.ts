import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { DeliveryRecordSchema, FileTransport, MessageRecordSchema } from '../src/index.js'
import { listFiles, onCleanup, openTransport, tempDir } from './helpers.js'
import { jsonLine, startFixture } from './processes.js'

describe('crashes', () => {
  it('ignores a temp file left by a write that crashed halfway', async () => {
    const { transport, root, message } = openTransport()
    const { messageId } = await transport.send(message())
    writeFileSync(join(root, 'inbox/builder', '.msg_half.3f9a.tmp'), '{ "delivery": { "recipient": "buil')
    writeFileSync(join(root, 'messages', '.msg_half.77aa.tmp'), '{ "mess')
    const claimed = await transport.claim('builder')
    expect(claimed.map((c) => c.message.id)).toEqual([messageId])
    expect((await transport.status(messageId)).deliveries).toHaveLength(1)
  })

  it('leaves only whole files when a sender is killed in the middle of writing', async () => {
    const root = join(tempDir(), 'queue')
    const sender = startFixture('send-forever.mjs', [root])
    await jsonLine<{ sent: number }>(sender, (line) => line.sent >= 15)
    sender.kill('SIGKILL')
    await new Promise((resolve) => sender.on('exit', resolve))

    const files = listFiles(root)
    const json = files.filter((f) => f.endsWith('.json'))
    expect(files.every((f) => f.endsWith('.json') || f.endsWith('.tmp'))).toBe(true)
    for (const file of json) {
      const value = JSON.parse(readFileSync(join(root, file), 'utf8'))
      const schema = file.startsWith('messages/') ? MessageRecordSchema : DeliveryRecordSchema
      expect(schema.safeParse(value).success, file).toBe(true)
    }
    const messages = json.filter((f) => f.startsWith('messages/')).length
    expect(messages).toBeGreaterThanOrEqual(15)

    const transport = new FileTransport({ root })
    onCleanup(() => transport.close())
    const inbox = (agent: string) => json.filter((f) => f.startsWith(`inbox/${agent}/`)).length
    for (const agent of ['builder', 'reviewer']) {
      const claimed = await transport.claim(agent, { limit: 1000 })
      expect(claimed).toHaveLength(inbox(agent))
      // A kill can land between the message file and its deliveries, never later than one send.
      expect(claimed.length).toBeGreaterThanOrEqual(messages - 1)
      for (const { message } of claimed) expect(message.body).toHaveLength(512 * 1024)
    }
  })

  it('redelivers the message of a consumer that died holding the lease, once the lease ran out', async () => {
    const { transport, root, message } = openTransport({ clock: new ManualClock(Date.now()) })
    const { messageId } = await transport.send(message())
    const consumer = startFixture('claim-and-hang.mjs', [root, 'builder', '60'])
    const { claimed } = await jsonLine<{ claimed: { lease: { leaseUntil: string } }[] }>(consumer)
    consumer.kill('SIGKILL')
    expect(claimed).toHaveLength(1)
    expect(await transport.claim('builder')).toEqual([])
    const clock = new ManualClock(Date.parse(claimed[0]!.lease.leaseUntil))
    const later = new FileTransport({ root, clock })
    onCleanup(() => later.close())
    const [again] = await later.claim('builder')
    expect(again?.message.id).toBe(messageId)
    expect(again?.lease.attempt).toBe(2)
  })

  it('recovers a delivery whose claimer died between the rename and the rewrite', async () => {
    const { transport, clock, root, message } = openTransport()
    const { messageId } = await transport.send(message())
    // What a claimer leaves if it dies right after its rename: a lease name over the queued content.
    const leaseUntil = clock.now() + 60_000
    const name = `${messageId}~${leaseUntil}~${'ab'.repeat(12)}.json`
    mkdirSync(join(root, 'leased/builder'), { recursive: true })
    renameSync(join(root, 'inbox/builder', `${messageId}.json`), join(root, 'leased/builder', name))
    expect((await transport.status(messageId)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 1 })

    // Such a lease is left alone a little past its end, in case its claimer is only slow.
    clock.advance(60_000)
    expect(await transport.claim('builder')).toEqual([])
    clock.advance(5_000)
    const [again] = await transport.claim('builder')
    expect(again?.message.id).toBe(messageId)
    expect(again?.lease.attempt).toBe(2)
    expect(readdirSync(join(root, 'leased/builder'))).toHaveLength(1)
  })
})
