import { afterAll, afterEach, describe } from 'vitest'
import { changeWaitCases } from './cases/change-waits.js'
import { claimMessageCases } from './cases/claim-message.js'
import { claimOrderCases } from './cases/claim-order.js'
import { cleanupCases } from './cases/cleanup.js'
import { closingCases } from './cases/closing.js'
import { conversationCases } from './cases/conversations.js'
import { deadLetterCases } from './cases/dead-letters.js'
import { delayAndTtlCases } from './cases/delays-and-ttl.js'
import { deliveryStateCases } from './cases/delivery-states.js'
import { heldMessageCases } from './cases/held-messages.js'
import { idempotencyCases } from './cases/idempotency.js'
import { inputLimitCases } from './cases/input-limits.js'
import { leaseCases } from './cases/leases.js'
import { pendingCases } from './cases/pending.js'
import { replyCases } from './cases/replies.js'
import { searchCases } from './cases/search.js'
import { sendingCases } from './cases/sending.js'
import { settleAndClaimCases } from './cases/settle-and-claim.js'
import { sharedStorageCases } from './cases/shared-storage.js'
import { statsCases } from './cases/stats.js'
import { statusCases } from './cases/status.js'
import { verifyCases } from './cases/verify.js'
import { waitingCases } from './cases/waiting.js'
import { SpoolContractContext, type SpoolFactory } from './context.js'

/**
 * Registers the spool store contract as a vitest `describe` block named after `name`: one case per delivery
 * rule of the spool, run through the public `Spool` API only, so every store (SQLite, PostgreSQL) is held to
 * the same semantics. Each case opens its spools through `factory.open` (fresh and empty, on a `ManualClock`
 * the case moves); after the case every spool it opened is closed and `dispose` runs; `factory.cleanup`
 * runs once after the last case.
 */
export function describeSpoolContract(name: string, factory: SpoolFactory): void {
  describe(`${name} spool store contract`, () => {
    const ctx = new SpoolContractContext(factory)

    afterEach(async () => {
      await ctx.release()
    })

    afterAll(async () => {
      await ctx.cleanup()
    })

    describe('the delivery state machine', () => deliveryStateCases(ctx))
    describe('dead letters', () => deadLetterCases(ctx))
    describe('leases', () => leaseCases(ctx))
    describe('claim order', () => claimOrderCases(ctx))
    describe('settle-and-claim', () => settleAndClaimCases(ctx))
    describe('sending', () => sendingCases(ctx))
    describe('idempotency keys and per-sender ids', () => idempotencyCases(ctx))
    describe('claiming replies', () => replyCases(ctx))
    describe('claiming one message', () => claimMessageCases(ctx))
    describe('waiting for changes', () => changeWaitCases(ctx))
    describe('input limits', () => inputLimitCases(ctx))
    describe('delays and TTL', () => delayAndTtlCases(ctx))
    describe('held group messages', () => heldMessageCases(ctx))
    describe('status', () => statusCases(ctx))
    describe('pending', () => pendingCases(ctx))
    describe('conversations', () => conversationCases(ctx))
    describe('search', () => searchCases(ctx))
    describe('stats', () => statsCases(ctx))
    describe('verify', () => verifyCases(ctx))
    describe('cleanup', () => cleanupCases(ctx))
    describe('waitForMessages', () => waitingCases(ctx))
    describe('closing', () => closingCases(ctx))
    describe('several spools on one storage', () => sharedStorageCases(ctx))
  })
}
