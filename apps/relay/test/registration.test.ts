import { describe, expect, it } from 'vitest'
import { errorOf, startTestRelay } from './helpers.js'

describe('registering through the relay', () => {
  it("refuses a 'file' profile: no caller chooses a folder on the relay's machine for local processes to write", async () => {
    const relay = await startTestRelay({ listen: false })
    const response = await relay.signed('builder', 'PUT', '/api/v1/agents/builder', {
      transport: 'file',
      inboxDir: '/etc/cron.d',
    })
    expect(response.statusCode).toBe(400)
    expect(errorOf(response)).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining("must be 'sqlite' (receive at this relay) or 'http'"),
    })
    expect(await relay.registry.get('builder')).toBeUndefined()
  })

  it('refuses a relay URL with credentials, which every agent could read', async () => {
    const relay = await startTestRelay({ listen: false })
    const response = await relay.signed('builder', 'PUT', '/api/v1/agents/builder', {
      transport: 'http',
      relayUrl: 'https://builder:s3cret@relay.example.com',
    })
    expect(response.statusCode).toBe(400)
    expect(errorOf(response)).toMatchObject({ code: 'VALIDATION' })
    expect(response.body).not.toContain('s3cret')
  })
})
