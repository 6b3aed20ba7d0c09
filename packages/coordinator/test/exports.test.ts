import * as protocol from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import * as coordinator from '../src/index.js'

describe('the package entry', () => {
  it('re-exports the typed errors its methods throw, so an app that installed only the coordinator can catch them', () => {
    const names = [
      'AgentCommError',
      'AgentNotFoundError',
      'ClosedError',
      'ConfigError',
      'ConflictError',
      'DeliveryNotFoundError',
      'ErrorCode',
      'ForbiddenError',
      'InvalidStateError',
      'isAgentCommError',
      'LeaseLostError',
      'MessageNotFoundError',
      'NoRecipientsError',
      'RequestAbortedError',
      'RequestTimeoutError',
      'SchemaVersionError',
      'StorageError',
      'ValidationError',
    ] as const
    for (const name of names) expect(coordinator[name], name).toBe(protocol[name])
    const timeout = new protocol.RequestTimeoutError('m1', 10)
    expect(timeout).toBeInstanceOf(coordinator.RequestTimeoutError)
    expect(coordinator.isAgentCommError(timeout, coordinator.ErrorCode.TIMEOUT)).toBe(true)
  })
})
