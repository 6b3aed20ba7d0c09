import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { A2ATokens, SqliteA2AStore } from '@agent-comm/a2a'
import { openPostgres, RelaySecretsKey } from '@agent-comm/postgres'
import { PostgresA2AStore } from '@agent-comm/postgres/a2a'
import { createTestDatabase, type TestDatabase } from '@agent-comm/postgres/testing'
import { Registry } from '@agent-comm/registry'
import { Spool } from '@agent-comm/spool'
import { afterAll, describe, expect, it } from 'vitest'
import { createRelayLogger, RELAY_DB_FILE, relayConfig, startRelay } from '../src/index.js'
import { onCleanup, startPostgresReplica, tempDir } from './helpers.js'

const db: TestDatabase = await createTestDatabase({ name: 'relay_a2a_hostile' })
afterAll(async () => {
  await db.drop()
})

const SKILLS = { a2a: { skills: [{ id: 'answer', name: 'Answer questions' }] } }

interface Endpoint {
  url: string
  token: string
  /** The token of another caller, `evil`. */
  otherToken: string
  /** Error-level lines the relay logged. */
  errors: string[]
}

/** A relay with agent `helper` opted in to A2A and a token for caller `acme`, on SQLite. */
async function onSqlite(): Promise<Endpoint> {
  const dataDir = tempDir()
  const errors: string[] = []
  const relay = await startRelay(relayConfig({ dataDir, port: 0, a2aPushAllow: ['127.0.0.1'] }), {
    logger: capturingLogger(errors),
  })
  onCleanup(() => relay.close())
  const spool = await Spool.open({ path: join(dataDir, RELAY_DB_FILE) })
  onCleanup(() => spool.close())
  const registry = await Registry.open({ spool })
  await registry.register({ agentId: 'helper', metadata: SKILLS })
  const tokens = new A2ATokens(spool.openShared(SqliteA2AStore.shared()))
  const { token } = await tokens.create('acme')
  return { url: relay.url, token, otherToken: (await tokens.create('evil')).token, errors }
}

let schemas = 0
/** The same on PostgreSQL (a schema of its own per test). */
async function onPostgres(): Promise<Endpoint> {
  const schema = `relay_a2a_hostile_${++schemas}`
  const errors: string[] = []
  const relay = await startPostgresReplica({
    url: db.url,
    schema,
    secretsKey: RelaySecretsKey.generate().toBase64(),
    config: { a2aPushAllow: ['127.0.0.1'] },
    logger: capturingLogger(errors),
  })
  const database = await openPostgres({ url: db.url, schema })
  onCleanup(() => database.close())
  await database.registry.register({ agentId: 'helper', metadata: SKILLS })
  const store = await PostgresA2AStore.connect({ url: db.url, schema })
  onCleanup(() => store.close())
  const tokens = new A2ATokens(store)
  const { token } = await tokens.create('acme')
  return { url: relay.url, token, otherToken: (await tokens.create('evil')).token, errors }
}

function capturingLogger(errors: string[]) {
  return createRelayLogger({
    level: 'info',
    destination: {
      write(line: string) {
        if ((JSON.parse(line) as { level: number }).level >= 50) errors.push(line)
      },
    },
  })
}

async function rpc(
  endpoint: Endpoint,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/a2a/helper',
) {
  const response = await fetch(`${endpoint.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'a2a-version': '1.0',
      authorization: `Bearer ${endpoint.token}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  })
  const text = await response.text()
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text,
    body: (text === '' || !text.startsWith('{') ? {} : JSON.parse(text)) as {
      id?: unknown
      error?: { code: number; message: string }
      result?: Record<string, unknown>
    },
  }
}

/** A request whose path goes out exactly as written (fetch would resolve `%2e%2e`). */
function rawRequest(
  endpoint: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<{ status: number; body: { error?: { code: number; message: string } } }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(endpoint.url)
    const sent = httpRequest(
      {
        hostname,
        port,
        path,
        method,
        headers: {
          'content-type': 'application/json',
          'a2a-version': '1.0',
          authorization: `Bearer ${endpoint.token}`,
        },
      },
      (response) => {
        let text = ''
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8')
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }))
      },
    )
    sent.on('error', reject)
    sent.end(body)
  })
}

let ids = 0
function call(method: string, params: unknown) {
  return { jsonrpc: '2.0', id: ++ids, method, params }
}

function message(extra: Record<string, unknown> = {}) {
  return { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text: 'hold' }], ...extra }
}

async function newTask(endpoint: Endpoint): Promise<{ id: string; contextId: string }> {
  const sent = await rpc(
    endpoint,
    call('SendMessage', { message: message(), configuration: { returnImmediately: true } }),
  )
  const task = sent.body.result?.task as { id: string; contextId: string } | undefined
  if (task === undefined) throw new Error(`no task: ${sent.text}`)
  return task
}

const stores = [
  ['SQLite', onSqlite, true],
  ['PostgreSQL', onPostgres, db.kind === 'server'],
] as const

describe('A2A agent ids in the path', () => {
  it('answers an invalid agent id with 400 and a JSON-RPC error, without a token and without logging an error', async () => {
    const endpoint = await onSqlite()
    for (const bad of [
      '%2e%2e',
      'bad%20name',
      'helper%00',
      'a%1Bb',
      '%E2%80%AEhelper',
      'a%2Fb',
      'a'.repeat(129),
    ]) {
      const card = await rawRequest(endpoint, 'GET', `/a2a/${bad}/.well-known/agent-card.json`)
      expect(card.status, bad).toBe(400)
      expect(card.body.error).toMatchObject({
        code: -32600,
        message: expect.stringMatching(/^Invalid agent id in the path/),
      })
      const post = await rawRequest(
        endpoint,
        'POST',
        `/a2a/${bad}`,
        JSON.stringify(call('GetTask', { id: 'x' })),
      )
      expect(post.status, bad).toBe(400)
      expect(post.body.error?.code).toBe(-32600)
    }
    expect(endpoint.errors).toEqual([])
  })
})

describe.each(stores)('A2A caller limits and params on %s', (_name, open, enabled) => {
  it.skipIf(!enabled)(
    'refuses a messageId, contextId or taskId over 256 characters with -32602, never an internal error',
    async () => {
      const endpoint = await open()
      // Incompressible: PostgreSQL would refuse it as an index key (over about 2.7 KB).
      const long = randomBytes(4000).toString('base64')
      for (const [field, extra] of [
        ['messageId', { messageId: long }],
        ['contextId', { contextId: long }],
        ['taskId', { taskId: long }],
      ] as const) {
        const sent = await rpc(
          endpoint,
          call('SendMessage', { message: message(extra), configuration: { returnImmediately: true } }),
        )
        expect(sent.body.error, field).toMatchObject({
          code: -32602,
          message: expect.stringContaining(`params.message.${field} is over 256 characters`),
        })
      }
      // At the limit, a message is taken (and sent again, answered with the same task).
      const atLimit = message({ messageId: 'm'.repeat(256), contextId: '\u00e9'.repeat(256) })
      const params = { message: atLimit, configuration: { returnImmediately: true } }
      const first = await rpc(endpoint, call('SendMessage', params))
      const again = await rpc(endpoint, call('SendMessage', params))
      const task = first.body.result?.task as { id: string } | undefined
      expect(task?.id).toBeDefined()
      expect(again.body.result?.task).toMatchObject({ id: task?.id })
      expect(endpoint.errors).toEqual([])
    },
  )

  it.skipIf(!enabled)(
    'keeps at most 10 push configs per task and bounds their token and credentials',
    async () => {
      const endpoint = await open()
      const task = await newTask(endpoint)
      const config = (n: number, extra: Record<string, unknown> = {}) =>
        call('CreateTaskPushNotificationConfig', {
          taskId: task.id,
          id: `c${n}`,
          url: `http://127.0.0.1:9/p${n}`,
          token: 't',
          ...extra,
        })
      for (let n = 0; n < 10; n++) expect((await rpc(endpoint, config(n))).body.error).toBeUndefined()
      const eleventh = await rpc(endpoint, config(10))
      expect(eleventh.body.error?.code).toBe(-32602)
      expect(eleventh.body.error?.message).toMatch(/at most 10 push notification configs/)
      // Replacing one of the ten is still allowed.
      expect((await rpc(endpoint, config(3, { token: 'new' }))).body.error).toBeUndefined()
      const list = await rpc(endpoint, call('ListTaskPushNotificationConfigs', { taskId: task.id }))
      expect(list.body.result?.configs).toHaveLength(10)

      const other = await newTask(endpoint)
      const big = (extra: Record<string, unknown>) =>
        rpc(
          endpoint,
          call('CreateTaskPushNotificationConfig', {
            taskId: other.id,
            url: 'http://127.0.0.1:9/x',
            ...extra,
          }),
        )
      expect((await big({ token: 'x'.repeat(10_000) })).body.error).toMatchObject({
        code: -32602,
        message: expect.stringMatching(/token is over 1024 characters/),
      })
      expect(
        (await big({ authentication: { scheme: 'Bearer', credentials: 'x'.repeat(10_000) } })).body.error
          ?.code,
      ).toBe(-32602)
      expect((await big({ url: `http://127.0.0.1:9/${'x'.repeat(3000)}` })).body.error?.code).toBe(-32602)
      expect(endpoint.errors).toEqual([])
    },
  )

  it.skipIf(!enabled)(
    'ends at once a reconnect to a finished task after its last event, and refuses a Last-Event-ID that is no event id',
    async () => {
      const endpoint = await open()
      const task = await newTask(endpoint)
      expect((await rpc(endpoint, call('CancelTask', { id: task.id }))).body.error).toBeUndefined()
      // Events 1 (the task) and 2 (canceled).
      for (const last of ['2', '3', '3000000000']) {
        const resumed = await rpc(endpoint, call('SubscribeToTask', { id: task.id }), {
          'last-event-id': last,
        })
        expect(resumed.status, last).toBe(200)
        expect(resumed.text).not.toMatch(/^id: /m)
      }
      const fromOne = await rpc(endpoint, call('SubscribeToTask', { id: task.id }), { 'last-event-id': '1' })
      expect([...fromOne.text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['2'])
      for (const bad of ['99999999999999999999999', '-1', '1.5', 'abc']) {
        const refused = await rpc(endpoint, call('SubscribeToTask', { id: task.id }), {
          'last-event-id': bad,
        })
        expect(refused.body.error, bad).toMatchObject({
          code: -32602,
          message: expect.stringMatching(/Last-Event-ID/),
        })
      }
      expect(endpoint.errors).toEqual([])
    },
  )

  it.skipIf(!enabled)(
    "pages through ListTasks with nextPageToken, each task once, and refuses a forged or another caller's token",
    async () => {
      const endpoint = await open()
      const sent: string[] = []
      for (let n = 0; n < 5; n++) sent.push((await newTask(endpoint)).id)
      const seen: string[] = []
      let pageToken = ''
      for (let pages = 0; pages < 10; pages++) {
        const listed = await rpc(endpoint, call('ListTasks', { pageSize: 2, pageToken }))
        const result = listed.body.result as {
          tasks: { id: string }[]
          nextPageToken: string
          pageSize: number
          totalSize: number
        }
        expect(result).toMatchObject({ pageSize: 2, totalSize: 5 })
        seen.push(...result.tasks.map((t) => t.id))
        pageToken = result.nextPageToken
        if (pageToken === '') break
      }
      expect([...seen].sort()).toEqual([...sent].sort())
      expect(seen).toHaveLength(5)
      // A token of acme's list is not one for evil's list, nor for another context of acme's.
      const first = await rpc(endpoint, call('ListTasks', { pageSize: 2 }))
      const token = (first.body.result as { nextPageToken: string }).nextPageToken
      expect(token).not.toBe('')
      const evil = await rpc(endpoint, call('ListTasks', { pageSize: 2, pageToken: token }), {
        authorization: `Bearer ${endpoint.otherToken}`,
      })
      expect(evil.body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/pageToken/) })
      const otherContext = await rpc(
        endpoint,
        call('ListTasks', { pageSize: 2, pageToken: token, contextId: 'elsewhere' }),
      )
      expect(otherContext.body.error).toMatchObject({ code: -32602 })
      // status filters the list (and its count); a token of the unfiltered list is not one for it.
      const byStatus = async (status: string, extra: Record<string, unknown> = {}) =>
        await rpc(endpoint, call('ListTasks', { pageSize: 10, status, ...extra }))
      const submitted = (await byStatus('TASK_STATE_SUBMITTED')).body.result as {
        tasks: { id: string }[]
        totalSize: number
      }
      expect([...submitted.tasks.map((t) => t.id)].sort()).toEqual([...sent].sort())
      expect(submitted.totalSize).toBe(5)
      for (const none of ['TASK_STATE_COMPLETED', 'TASK_STATE_AUTH_REQUIRED']) {
        expect((await byStatus(none)).body.result, none).toMatchObject({ tasks: [], totalSize: 0 })
      }
      expect((await byStatus('TASK_STATE_SUBMITTED', { pageToken: token })).body.error).toMatchObject({
        code: -32602,
      })
      // statusTimestampAfter filters the list and its count, on either store; a token is bound to it.
      const since = async (statusTimestampAfter: string, extra: Record<string, unknown> = {}) =>
        await rpc(endpoint, call('ListTasks', { pageSize: 2, statusTimestampAfter, ...extra }))
      const fromLongAgo = (await since('2000-01-01T00:00:00Z')).body.result as {
        totalSize: number
        nextPageToken: string
      }
      expect(fromLongAgo.totalSize).toBe(5)
      expect((await since('2999-01-01T00:00:00Z')).body.result).toMatchObject({ tasks: [], totalSize: 0 })
      expect(
        (await since('2000-01-01T00:00:00Z', { pageToken: fromLongAgo.nextPageToken })).body.error,
      ).toBeUndefined()
      for (const other of [
        { statusTimestampAfter: '2000-01-02T00:00:00Z' },
        { statusTimestampAfter: undefined },
      ])
        expect(
          (
            await rpc(
              endpoint,
              call('ListTasks', { pageSize: 2, pageToken: fromLongAgo.nextPageToken, ...other }),
            )
          ).body.error,
        ).toMatchObject({ code: -32602, message: expect.stringMatching(/statusTimestampAfter/) })
      const forged = Buffer.from(JSON.stringify({ v: 1, u: 1, i: 'x', q: 'y' })).toString('base64url')
      for (const bad of ['garbage!', 'e30', forged, 'A'.repeat(5000)]) {
        const refused = await rpc(endpoint, call('ListTasks', { pageToken: bad }))
        expect(refused.body.error, bad.slice(0, 20)).toMatchObject({
          code: -32602,
          message: expect.stringMatching(/params\.pageToken/),
        })
      }
      expect(endpoint.errors).toEqual([])
    },
  )

  it.skipIf(!enabled)(
    'refuses ListTasks, GetTask and SendMessage params of the wrong type with -32602',
    async () => {
      const endpoint = await open()
      const task = await newTask(endpoint)
      for (const pageSize of ['ten', 1.5, { a: 1 }, -5, 0, 1e9]) {
        const listed = await rpc(endpoint, call('ListTasks', { pageSize }))
        expect(listed.body.error, JSON.stringify(pageSize)).toMatchObject({
          code: -32602,
          message: expect.stringMatching(/params\.pageSize/),
        })
      }
      expect((await rpc(endpoint, call('ListTasks', { pageSize: 5 }))).body.error).toBeUndefined()
      for (const historyLength of [-1, 'a', 1.5, 1e30]) {
        const got = await rpc(endpoint, call('GetTask', { id: task.id, historyLength }))
        expect(got.body.error?.code, JSON.stringify(historyLength)).toBe(-32602)
      }
      const refusedList = async (params: Record<string, unknown>, named: RegExp) => {
        const listed = await rpc(endpoint, call('ListTasks', params))
        expect(listed.body.error, JSON.stringify(params)).toMatchObject({
          code: -32602,
          message: expect.stringMatching(named),
        })
      }
      for (const statusTimestampAfter of [
        'yesterday',
        '2025-10-27',
        '2025-02-30T10:00:00Z',
        '2025-10-27T24:00:00Z',
        '2025-10-27 10:00:00Z',
      ])
        await refusedList(
          { statusTimestampAfter },
          /params\.statusTimestampAfter must be an ISO 8601 timestamp/,
        )
      await refusedList({ statusTimestampAfter: 5 }, /params\.statusTimestampAfter must be a string/)
      await refusedList({ status_timestamp_after: 'soon' }, /params\.status_timestamp_after/)
      for (const historyLength of [-1, 'a', 1.5])
        await refusedList({ historyLength }, /params\.historyLength/)
      for (const includeArtifacts of ['yes', 1])
        await refusedList({ includeArtifacts }, /params\.includeArtifacts/)
      for (const statusTimestampAfter of ['2025-10-27T10:00:00Z', '2025-10-27T12:00:00.123456+02:00', '']) {
        const listed = await rpc(endpoint, call('ListTasks', { statusTimestampAfter }))
        expect(listed.body.error, statusTimestampAfter).toBeUndefined()
      }
      for (const configuration of ['x', 5, { returnImmediately: 'yes' }, { historyLength: -3 }]) {
        const sent = await rpc(endpoint, call('SendMessage', { message: message(), configuration }))
        expect(sent.body.error?.code, JSON.stringify(configuration)).toBe(-32602)
      }
      expect(endpoint.errors).toEqual([])
    },
  )
})

describe('A2A messages and JSON-RPC requests', () => {
  it('refuses malformed parts and messages instead of changing them', async () => {
    const endpoint = await onSqlite()
    const send = (msg: Record<string, unknown>) =>
      rpc(endpoint, call('SendMessage', { message: msg, configuration: { returnImmediately: true } }))
    for (const parts of [
      [{ text: 5 }],
      [{ raw: '!!!notb64' }],
      [{ text: 'a', data: { x: 1 } }],
      [{ text: 'ok', filename: 5 }],
      [{ url: 7 }],
    ]) {
      const refused = await send(message({ parts }))
      expect(refused.body.error, JSON.stringify(parts)).toMatchObject({
        code: -32602,
        message: expect.stringMatching(/params\.message\.parts\[0\]/),
      })
    }
    for (const bad of [
      { role: 'BOGUS' },
      { role: 'ROLE_AGENT' },
      { messageId: undefined },
      { messageId: '' },
    ]) {
      expect((await send(message(bad))).body.error?.code, JSON.stringify(bad)).toBe(-32602)
    }
    // Well-formed parts still go through, base64 with or without padding.
    const ok = await send(message({ parts: [{ text: 'hi' }, { raw: 'aGk=' }, { data: { x: 1 } }] }))
    expect(ok.body.error).toBeUndefined()
  })

  it('refuses a contextId that is not the context of the taskId it continues', async () => {
    const endpoint = await onSqlite()
    const task = await newTask(endpoint)
    const sent = await rpc(
      endpoint,
      call('SendMessage', { message: message({ taskId: task.id, contextId: 'some-other-ctx' }) }),
    )
    expect(sent.body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/contextId/) })
  })

  it('answers invalid JSON-RPC requests with -32600 and never changes the id it echoes', async () => {
    const endpoint = await onSqlite()
    const get = { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }
    for (const bad of [
      { ...get, jsonrpc: '1.0' },
      { ...get, jsonrpc: undefined },
      { ...get, id: 1.5 },
      { ...get, id: { a: 1 } },
      { ...get, method: 5 },
    ]) {
      const answer = await rpc(endpoint, bad)
      expect(answer.body.error?.code, JSON.stringify(bad)).toBe(-32600)
      expect(answer.body.id).toBe(null)
    }
    const huge = await rpc(
      endpoint,
      '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"GetTask","params":{"id":"x"}}',
    )
    expect(huge.body).toMatchObject({ id: null, error: { code: -32600 } })
    expect((await rpc(endpoint, { ...get, id: 'str' })).body).toMatchObject({
      id: 'str',
      error: { code: -32001 },
    })
  })

  it('does not answer a notification', async () => {
    const endpoint = await onSqlite()
    const answer = await rpc(endpoint, { jsonrpc: '2.0', method: 'GetTask', params: { id: 'x' } })
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
  })

  it('says a token it does not know is invalid or revoked', async () => {
    const endpoint = await onSqlite()
    const answer = await rpc(endpoint, call('GetTask', { id: 'x' }), { authorization: 'Bearer a2a_nope' })
    expect(answer.status).toBe(401)
    expect(answer.body.error?.message).toMatch(/unknown or revoked/)
    const none = await rpc(endpoint, call('GetTask', { id: 'x' }), { authorization: '' })
    expect(none.body.error?.message).toMatch(/A bearer token is required/)
  })
})
