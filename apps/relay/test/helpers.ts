import { type AddressInfo, connect } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Message } from '@a2a-js/sdk'
import type { Client } from '@a2a-js/sdk/client'
import { ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { testCleanups } from '@agent-comm/test-support'
import { DEFAULT_AUTH_WINDOW_MS, HttpTransport, RelayClient, signRequest } from '@agent-comm/transport-http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  createRelay,
  createRelayLogger,
  type NonceStore,
  type RelayConfig,
  type RelayHandle,
  type RelayOptions,
  relayConfig,
  SqliteNonceStore,
  type StartRelayDeps,
  startRelay,
} from '../src/index.js'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-relay-test-')

/** The start of the tests' fake time. */
export const T0 = Date.UTC(2026, 1, 3, 14, 30)

/** Every secret and signature the test relays and `signed` requests of this test file used. */
export const sentCredentials: string[] = []

/** Every log line any test relay wrote in this test file, to check that none holds a secret. */
export const capturedLogs: string[] = []

/** A pino destination that keeps each JSON line in {@link capturedLogs}. */
function captureStream(): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      capturedLogs.push(String(chunk))
      done()
    },
  })
}

/** A relay built with `createRelay` on a temp folder: its parts, its agents' secrets and ways to call it. */
export interface TestRelay {
  app: FastifyInstance
  url: string
  dir: string
  clock: ManualClock
  spool: Spool
  registry: Registry
  store: SecretStore
  /** The secret of every agent created with the relay. */
  secrets: Record<string, string>
  /** A client signing with {@link secrets}. */
  client: RelayClient
  /** An HTTP transport on this relay; `identity` signs status. */
  transport(identity?: string): HttpTransport
  /** A signed `inject` request, as `agentId` (with its secret unless `secret` is given); a string body is sent as is. */
  signed(
    agentId: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    options?: {
      secret?: string
      timestamp?: number
      nonce?: string
      contentType?: string
      /** The client's address as the relay's socket sees it (127.0.0.1). */
      remoteAddress?: string
      /** More headers, outside the signature (e.g. `x-forwarded-for`). */
      headers?: Record<string, string>
      /** Sign with version 2 for this relay audience. */
      audience?: string
    },
  ): Promise<LightMyRequestResponse>
  /** Closes the relay and its stores (also done after the test). */
  close(): Promise<void>
}

/** Options of {@link startTestRelay}. */
export interface TestRelayOptions {
  /** Agents given a secret (architect, builder, reviewer, tester, lead, nobody, admin). */
  agents?: readonly string[]
  clock?: ManualClock
  dir?: string
  options?: RelayOptions
  /** Listen on an ephemeral 127.0.0.1 port (true). */
  listen?: boolean
  /** The relay's nonce store (default: a `SqliteNonceStore` on the spool's file, as `startRelay` builds it). */
  nonces?: NonceStore
}

const DEFAULT_AGENTS = ['architect', 'builder', 'reviewer', 'tester', 'lead', 'nobody', 'admin']

/** Starts a relay on a temp folder with a ManualClock shared by relay and clients; closed after the test. */
export async function startTestRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const dir = options.dir ?? tempDir()
  const clock = options.clock ?? new ManualClock(T0)
  const spool = await Spool.open({ path: join(dir, 'relay.db'), clock })
  const registry = await Registry.open({
    spool,
    clock,
    releaseHeldTo: 'all-agents',
  })
  // Looked at once per event-loop turn, as the relay's storage opens it.
  const store = await SecretStore.open({ path: SecretStore.fileIn(dir), clock, recheck: 'turn' })
  const secrets: Record<string, string> = {}
  for (const agent of options.agents ?? DEFAULT_AGENTS) {
    const existing = store.secretsFor(agent)[0]
    secrets[agent] = existing ?? (await store.generate(agent)).secret
    sentCredentials.push(secrets[agent])
  }
  const logger = createRelayLogger({ level: 'debug', destination: captureStream() })
  // Built here as startRelay builds it: the relay itself never touches the spool's connection.
  const nonces =
    options.nonces ??
    spool.openShared(
      SqliteNonceStore.shared({
        clock,
        windowMs: options.options?.authWindowMs ?? DEFAULT_AUTH_WINDOW_MS,
        logger,
      }),
    )
  const app = await createRelay({
    spool,
    registry,
    secrets: store,
    nonces,
    clock,
    logger,
    // The test runner shares the relay's event loop: its own pauses (loading a module on first use) are not
    // the relay's load, so the event-loop delay is not looked at unless a test asks (test/overload.test.ts).
    options: { rateLimit: false, overload: { maxEventLoopDelayMs: 0 }, ...options.options },
  })
  let url = 'http://127.0.0.1:1'
  if (options.listen ?? true) {
    await app.listen({ port: 0, host: '127.0.0.1' })
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }
  const secretFor = (id: string) => secrets[id]
  const client = new RelayClient({ baseUrl: url, secretFor, clock })
  const transports: HttpTransport[] = []
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    for (const t of transports) await t.close()
    await client.close()
    await app.close()
    await nonces.close()
    await registry.close()
    await spool.close()
  }
  onCleanup(close)
  return {
    app,
    url,
    dir,
    clock,
    spool,
    registry,
    store,
    secrets,
    client,
    transport(identity = 'architect') {
      const t = new HttpTransport({ baseUrl: url, secretFor, clock, identity })
      transports.push(t)
      return t
    },
    signed(agentId, method, path, body, opts = {}) {
      const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
      const headers = signRequest(opts.secret ?? secrets[agentId] ?? 'no-secret-for-this-agent', {
        method,
        path,
        body: payload,
        agentId,
        timestamp: opts.timestamp ?? clock.now(),
        ...(opts.nonce === undefined ? {} : { nonce: opts.nonce }),
        ...(opts.audience === undefined ? {} : { audience: opts.audience }),
      })
      sentCredentials.push(headers['x-signature']!)
      return app.inject({
        method,
        url: path,
        ...(opts.remoteAddress === undefined ? {} : { remoteAddress: opts.remoteAddress }),
        headers: {
          ...opts.headers,
          ...headers,
          ...(payload === '' && opts.contentType === undefined
            ? {}
            : { 'content-type': opts.contentType ?? 'application/json' }),
        },
        ...(payload === '' ? {} : { payload }),
      })
    },
    close,
  }
}

/** The parsed error body of a response. */
export function errorOf(response: LightMyRequestResponse): {
  code: string
  message: string
  details?: unknown
} {
  return (response.json() as { error: { code: string; message: string } }).error
}

/**
 * Sends `message` to an A2A agent the way a caller that does not wait does (`returnImmediately`): the
 * answer is the task as submitted.
 */
export function submit(client: Client, message: Message) {
  return client.sendMessage({
    tenant: '',
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: true,
    },
    metadata: undefined,
  })
}

/** Options of {@link startPostgresReplica}. */
export interface PostgresReplicaOptions {
  /** The test database's URL. */
  url: string
  /** The PostgreSQL schema every replica of the relay shares. */
  schema: string
  /** The relay secrets key (base64) every replica of the relay shares. */
  secretsKey: string
  /** More of the relay's configuration (rate limits, admin secret, A2A push allow list…). */
  config?: Partial<RelayConfig>
  /** The relay's logger (default: silent). */
  logger?: StartRelayDeps['logger']
}

/**
 * Starts one replica of a relay on PostgreSQL — one process of several behind a load balancer, sharing the
 * schema and the secrets key — on a temporary data folder and an ephemeral port; closed after the test.
 */
export async function startPostgresReplica(options: PostgresReplicaOptions): Promise<RelayHandle> {
  const relay = await startRelay(
    relayConfig({
      dataDir: tempDir(),
      port: 0,
      databaseUrl: options.url,
      postgresSchema: options.schema,
      secretsKey: options.secretsKey,
      ...options.config,
    }),
    { logger: options.logger ?? createRelayLogger({ level: 'silent' }) },
  )
  onCleanup(() => relay.close())
  return relay
}

/**
 * Writes `request` to `url`'s host and port as is (a partial one too); resolves everything the server
 * answered once it closes the connection, or once it has been silent for `idleMs` (30 s), when the client
 * gives up: a server that never answers then fails the test with what it said instead of hanging it.
 */
export function rawRequest(url: string, request: string, idleMs = 30_000): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
    socket.setTimeout(idleMs, () => socket.destroy())
    socket.write(request)
  })
}
