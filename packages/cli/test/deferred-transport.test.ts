import type { Transport } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { DeferredTransport } from '../src/deferred-transport.js'

/** A transport whose methods record their calls (name and string arguments) and return nothing useful. */
function fakeTransport(calls: string[]): Transport {
  const record =
    (name: string) =>
    async (...args: unknown[]): Promise<never> => {
      calls.push(`${name}(${args.filter((a) => typeof a === 'string').join(',')})`)
      return {} as never
    }
  return {
    kind: 'http',
    send: record('send'),
    claim: record('claim'),
    ack: record('ack'),
    nack: record('nack'),
    extendLease: record('extendLease'),
    status: record('status'),
    waitForMessages: async (agent) => {
      calls.push(`waitForMessages(${agent})`)
      return true
    },
    close: async () => {
      calls.push('close()')
    },
  }
}

describe('DeferredTransport', () => {
  it('builds the transport once, on the first call, also under concurrent first calls', async () => {
    const calls: string[] = []
    let builds = 0
    const deferred = new DeferredTransport('http', async () => {
      builds++
      return fakeTransport(calls)
    })
    expect(deferred.kind).toBe('http')
    expect(builds).toBe(0)
    await Promise.all([deferred.claim('a'), deferred.ack('m1', 'a'), deferred.waitForMessages('a')])
    expect(builds).toBe(1)
    expect(calls.sort()).toEqual(['ack(m1,a)', 'claim(a)', 'waitForMessages(a)'])
    await deferred.close()
    expect(calls).toContain('close()')
  })

  it('loads nothing when closed before any call, and refuses calls after close', async () => {
    let builds = 0
    const deferred = new DeferredTransport('http', async () => {
      builds++
      return fakeTransport([])
    })
    await deferred.close()
    await deferred.close()
    expect(builds).toBe(0)
    await expect(deferred.claim('a')).rejects.toMatchObject({ code: 'CLOSED' })
    expect(await deferred.waitForMessages('a')).toBe(false)
    expect(builds).toBe(0)
  })

  it('reports a failed build to the caller, and closes without it', async () => {
    const deferred = new DeferredTransport('http', async () => {
      throw new Error('chunk missing')
    })
    await expect(deferred.send({} as never)).rejects.toThrow('chunk missing')
    await expect(deferred.close()).resolves.toBeUndefined()
  })
})
