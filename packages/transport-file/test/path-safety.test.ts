import { readdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listFiles, openTransport } from './helpers.js'

describe('ids as file names', () => {
  it('rejects an agent id that would name a folder outside its place', async () => {
    const { transport, root, message } = openTransport()
    const outside = readdirSync(dirname(root))
    for (const agent of ['..', '.', '../builder', '../../etc', 'a/b', 'a\\b', '']) {
      await expect(transport.claim(agent)).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.waitForMessages(agent, { timeoutMs: 0 })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      await expect(transport.ack('msg_1', agent)).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.nack('msg_1', agent)).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.send(message(), { recipients: ['builder', agent] })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
    }
    await expect(transport.send({ ...message(), toAgent: '..' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(transport.send({ ...message(), toAgent: '../x' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    expect(readdirSync(dirname(root))).toEqual(outside)
    expect(listFiles(root)).toEqual([])
  })

  it('rejects a message id that would name a file outside its folder', async () => {
    const { transport, root, message } = openTransport()
    for (const id of ['../escape', '../../etc/passwd', 'a/b', '..\\x', '']) {
      await expect(transport.send({ ...message(), id })).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.ack(id, 'builder')).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.nack(id, 'builder')).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.extendLease(id, 'builder')).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(transport.status(id)).rejects.toMatchObject({ code: 'VALIDATION' })
    }
    expect(listFiles(root)).toEqual([])
  })

  it('refuses a message id made of dots, which could name a folder', async () => {
    const { transport, root, message } = openTransport()
    await expect(transport.send({ ...message(), id: '..' })).rejects.toMatchObject({ code: 'VALIDATION' })
    expect(listFiles(root)).toEqual([])
  })
})
