import type { AgentCard } from '@a2a-js/sdk'
import { TaskNotFoundError } from '@a2a-js/sdk/errors'
import { JsonRpcTransportHandler, ServerCallContext } from '@a2a-js/sdk/server'
import type { Logger } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { withCallState } from '../src/handler.js'
import { type A2ATasks, SpoolRequestHandler } from '../src/index.js'

const LEAK = 'Database error on /tmp/agent-comm-x/relay.db: Maximum call stack size exceeded'

/** Tasks whose every read fails as the database might, except an unknown id, which is the caller's mistake. */
const failingTasks = {
  async get(_caller: unknown, _agent: string, taskId: string) {
    if (taskId === 'nope') throw new TaskNotFoundError(`Task '${taskId}' not found`)
    throw new Error(LEAK)
  },
  async send() {
    throw new Error(LEAK)
  },
  // biome-ignore lint/correctness/useYield: a stream that fails before its first event.
  async *events() {
    throw new Error(LEAK)
  },
} as unknown as A2ATasks

function setUp() {
  const logged: { fields: Record<string, unknown>; message: string }[] = []
  const logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (fields, message) => logged.push({ fields, message }),
  }
  const transport = new JsonRpcTransportHandler(new SpoolRequestHandler(failingTasks, { logger }))
  const context = () =>
    withCallState(new ServerCallContext({ requestedVersion: '1.0', state: new Map() }), {
      caller: { name: 'acme', agents: undefined },
      agent: 'helper',
      card: {} as AgentCard,
      requestId: 'req-42',
      seqs: [],
      lastEventId: undefined,
      signal: new AbortController().signal,
    })
  return { transport, context, logged }
}

describe('errors the caller did not cause', () => {
  it('answers -32603 naming only the request id, and logs the cause with it; caller mistakes keep their errors', async () => {
    const { transport, context, logged } = setUp()
    for (const [method, params] of [
      ['GetTask', { id: 'some-task' }],
      ['SendMessage', { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }] } }],
    ] as const) {
      const answer = await transport.handle({ jsonrpc: '2.0', id: 1, method, params }, context())
      expect(answer).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32603, message: 'Internal error (request id req-42)' },
      })
    }
    expect(logged).toHaveLength(2)
    expect(logged[0]?.fields).toMatchObject({ requestId: 'req-42', caller: 'acme', agent: 'helper' })
    expect(String(logged[0]?.fields.error)).toContain(LEAK)
    // The caller's own mistakes keep their A2A errors, and are not logged as failures.
    const unknown = await transport.handle(
      { jsonrpc: '2.0', id: 3, method: 'GetTask', params: { id: 'nope' } },
      context(),
    )
    expect(unknown).toMatchObject({ id: 3, error: { code: -32001, message: "Task 'nope' not found" } })
    expect(logged).toHaveLength(2)
  })

  it('answers a stream that fails the same way', async () => {
    const { transport, context, logged } = setUp()
    const stream = await transport.handle(
      { jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: 'some-task' } },
      context(),
    )
    if (!(Symbol.asyncIterator in stream)) throw new Error('expected a stream')
    const failure = await stream[Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(JsonRpcTransportHandler.mapToJSONRPCError(failure)).toEqual({
      code: -32603,
      message: 'Internal error (request id req-42)',
    })
    expect(String(logged[0]?.fields.error)).toContain(LEAK)
  })
})
