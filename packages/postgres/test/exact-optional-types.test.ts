import { fileURLToPath } from 'node:url'
import { typeCheckFixture } from '@agent-comm/test-support/type-check'
import { describe, expect, it } from 'vitest'

describe('published option types under exactOptionalPropertyTypes', () => {
  it('accept an explicit undefined wherever the code does, so a wrapper can forward its own optional settings', async () => {
    // test/fixtures/exact-optional/consumer.ts: the README's Spool.open({ store: await openPostgresSpoolStore(…) })
    // (the store's clock against SpoolStore's), openPostgres and openPostgresSpoolStore given undefined.
    const fixture = fileURLToPath(new URL('./fixtures/exact-optional', import.meta.url))
    expect(await typeCheckFixture(fixture)).toBe('')
  })
})
