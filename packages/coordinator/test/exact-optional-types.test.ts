import { fileURLToPath } from 'node:url'
import { typeCheckFixture } from '@agent-comm/test-support/type-check'
import { describe, expect, it } from 'vitest'

describe('published option types under exactOptionalPropertyTypes', () => {
  it('accept an explicit undefined wherever the code does, so a wrapper can forward its own optional settings', async () => {
    // test/fixtures/exact-optional/consumer.ts: createCoordinator, poll, messages, request, send, awaitReply,
    // Spool.open and claim, HttpTransport, RelayClient and its claim, openPostgres, each given undefined.
    const fixture = fileURLToPath(new URL('./fixtures/exact-optional', import.meta.url))
    expect(await typeCheckFixture(fixture)).toBe('')
  })
})
