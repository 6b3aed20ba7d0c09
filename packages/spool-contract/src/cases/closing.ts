import { expect, it } from 'vitest'
import { type SpoolContractContext, task } from '../context.js'

/** close(): later calls fail with CLOSED; closing twice is harmless. */
export function closingCases(ctx: SpoolContractContext): void {
  it('refuses to use a closed spool', async () => {
    const { spool } = await ctx.open()
    await spool.close()
    await expect(spool.send(task())).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(spool.claim('builder')).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(spool.stats()).rejects.toMatchObject({ code: 'CLOSED' })
    await spool.close()
  })
}
