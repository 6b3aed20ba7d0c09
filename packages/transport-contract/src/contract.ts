import { afterEach, beforeEach, describe } from 'vitest'
import { deliveryCases } from './cases/delivery.js'
import { leaseCases } from './cases/leases.js'
import { orderingCases } from './cases/ordering.js'
import { sendingCases } from './cases/sending.js'
import { waitingCases } from './cases/waiting.js'
import { ContractContext, type TransportFixtureFactory } from './context.js'

/**
 * Registers the transport contract as a vitest `describe` block named after `name`: one case per delivery
 * rule every `Transport` must keep. `setup` runs before each case and must return a fresh, empty transport
 * whose only clock is the returned `ManualClock`; its `teardown` runs after each case.
 *
 * The cases use nothing but the `Transport` interface and the stable `error.code` of typed errors, so the
 * same suite runs against the SQLite spool, the file transport and the HTTP relay.
 */
export function describeTransportContract(name: string, setup: TransportFixtureFactory): void {
  describe(`${name} transport contract`, () => {
    const ctx = new ContractContext()

    beforeEach(async () => {
      ctx.use(await setup())
    })

    afterEach(async () => {
      await ctx.release()?.teardown()
    })

    describe('delivery', () => deliveryCases(ctx))
    describe('claim order', () => orderingCases(ctx))
    describe('leases', () => leaseCases(ctx))
    describe('sending', () => sendingCases(ctx))
    describe('waiting and closing', () => waitingCases(ctx))
  })
}
