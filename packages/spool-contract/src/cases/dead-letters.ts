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

  it('keeps a message its sender withdrew out of the dead letters: not listed, never retried, its holder ack refused', async () => {
    const { spool } = await ctx.open()
    const leased = await spool.send(task())
    const [claimed] = await spool.claim('builder')
    const queued = await spool.send(task())
    const reason = 'A2A task t1 was canceled by its caller'
    expect(await spool.withdraw(leased.messageId, 'builder', { reason })).toBe(true)
    expect(await spool.withdraw(queued.messageId, 'builder', { reason })).toBe(true)
    await expect(
      spool.ack(leased.messageId, 'builder', { receipt: claimed!.lease.receipt }),
    ).rejects.toMatchObject({ code: 'INVALID_STATE' })
    expect(await spool.claim('builder')).toEqual([])
    expect(await spool.listFailed()).toEqual([])
    for (const agent of ['builder', undefined]) {
      await expect(spool.retryFailed(queued.messageId, agent)).rejects.toMatchObject({
        code: 'INVALID_STATE',
        message: expect.stringMatching(/was withdrawn by its sender .*is not retried/),
      })
    }
    expect((await spool.status(leased.messageId)).deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: reason,
    })
    expect(await spool.claim('builder')).toEqual([])
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

  it('gives the attempt back on a hand-back, so a message handed back again and again is never dead-lettered', async () => {
    const { spool, clock } = await ctx.open({ retryDelaySeconds: () => 60 })
    const { messageId } = await spool.send(task(), { maxAttempts: 2 })
    await spool.claim('builder')
    await spool.nack(messageId, 'builder', { reason: 'flaky' })
    clock.advance(60_000)
    for (let round = 0; round < 5; round++) {
      const [claimed] = await spool.claim('builder')
      expect(claimed?.lease.attempt).toBe(2)
      expect(
        await spool.nack(messageId, 'builder', { receipt: claimed!.lease.receipt, handBack: true }),
      ).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 2 })
    }
    // Visible again at once, whatever the retry backoff says, and the last real failure is kept.
    expect((await spool.status(messageId)).deliveries[0]).toMatchObject({
      status: 'queued',
      attempt: 1,
      lastError: 'flaky',
    })
    const [last] = await spool.claim('builder')
    expect(await spool.nack(messageId, 'builder', { receipt: last!.lease.receipt })).toMatchObject({
      status: 'failed',
      attempt: 2,
    })
  })

  it('refuses a hand-back without the live lease, or with a dead-letter or a delay', async () => {
    const { spool } = await ctx.open()
    const { messageId } = await spool.send(task())
    const [claimed] = await spool.claim('builder')
    await expect(
      spool.nack(messageId, 'builder', { receipt: 'not-the-receipt', handBack: true }),
    ).rejects.toMatchObject({
      code: 'LEASE_LOST',
    })
    for (const bad of [{ deadLetter: true }, { delaySeconds: 5 }]) {
      await expect(
        spool.nack(messageId, 'builder', { receipt: claimed!.lease.receipt, handBack: true, ...bad }),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
    }
    expect((await spool.status(messageId)).deliveries[0]).toMatchObject({ status: 'leased', attempt: 1 })
    await spool.ack(messageId, 'builder', { receipt: claimed!.lease.receipt })
    await expect(spool.nack(messageId, 'builder', { handBack: true })).rejects.toMatchObject({
      code: 'INVALID_STATE',
    })
  })
}
