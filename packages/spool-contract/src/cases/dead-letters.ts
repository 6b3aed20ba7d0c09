import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** Max attempts → failed → retry: the dead-letter queue. */
export function deadLetterCases(ctx: SpoolContractContext): void {
  it('dead-letters a message once its attempts are used up, keeping the last error', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task(), { maxAttempts: 2 })
    await spool.claim('builder')
    expect(await spool.nack(messageId, 'builder', { reason: 'first' })).toMatchObject({ status: 'queued' })
    await spool.claim('builder')
    expect(await spool.nack(messageId, 'builder', { reason: 'second' })).toMatchObject({
      status: 'failed',
      attempt: 2,
      maxAttempts: 2,
    })
    expect(await spool.claim('builder')).toEqual([])
    const failed = await spool.listFailed({ agent: 'builder' })
    expect(failed).toHaveLength(1)
    expect(failed[0]?.delivery).toMatchObject({ status: 'failed', lastError: 'second' })
  })

  it('uses the maxAttempts the spool was opened with when a send names none', async () => {
    const { spool } = await ctx.open({ maxAttempts: 1 })
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder')
    expect(claimed?.lease.maxAttempts).toBe(1)
    expect(await spool.nack(messageId, 'builder', { reason: 'once' })).toMatchObject({ status: 'failed' })
  })

  it('requeues a dead-lettered message with fresh attempts on retryFailed', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task(), { maxAttempts: 1 })
    await spool.claim('builder')
    await spool.nack(messageId, 'builder', { reason: 'boom' })
    expect(await spool.retryFailed(messageId, 'builder')).toEqual({ requeued: 1 })
    const [again] = await spool.claim('builder')
    expect(again?.lease).toMatchObject({ attempt: 1, maxAttempts: 1 })
    await expect(spool.retryFailed(messageId, 'builder')).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('fails a message at once when the nack says a retry cannot help', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    await spool.claim('builder')
    expect(
      await spool.nack(messageId, 'builder', { reason: 'malformed task', deadLetter: true }),
    ).toMatchObject({
      status: 'failed',
      attempt: 1,
    })
    expect(await spool.claim('builder')).toEqual([])
    expect((await spool.listFailed())[0]?.delivery.lastError).toBe('malformed task')
  })
}
