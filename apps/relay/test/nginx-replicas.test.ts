import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { RelaySecretsKey } from '@agent-comm/postgres'
import { createTestDatabase, serverTestsCanRun } from '@agent-comm/postgres/testing'
import { createMessage } from '@agent-comm/protocol'
import { debianTool, freePort } from '@agent-comm/test-support'
import { HttpTransport, RelayClient, signRequest } from '@agent-comm/transport-http'
import { describe, expect, it } from 'vitest'
import { onCleanup, rawRequest, tempDir } from './helpers.js'
import { listening, spawnRelay } from './relay-bin.js'

// Two relay replicas (real processes) on one fresh PostgreSQL database, behind a real nginx on loopback
// configured with deploy/nginx/relay-proxy.conf, the file the deployment guide ships.

const PROXY_CONF = fileURLToPath(new URL('../deploy/nginx/relay-proxy.conf', import.meta.url))
const FULL_CONF = fileURLToPath(new URL('../deploy/nginx/agent-comm-relay.conf', import.meta.url))
// The CLI's Quick Test and the CLI that runs it (built by the workspace's `prepare`, as every package).
const QUICK_TEST = fileURLToPath(new URL('../../../packages/cli/test/quick-test.sh', import.meta.url))
const CLI = fileURLToPath(new URL('../../../packages/cli/bin/run.js', import.meta.url))

const skipped = {
  warn: (_fields: unknown, message: string) => process.stderr.write(`nginx-replicas: ${message}\n`),
}
const nginx = debianTool('nginx')
const canRun = nginx !== undefined && (await serverTestsCanRun(skipped))

/** A replica process; killed after the test if still running. Resolves with its URL once it listens. */
async function startReplica(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnRelay(['--port', '0', '--log-level', 'info'], { ...process.env, ...env })
  const url = await listening(child, 'replica')
  // Keep reading its log, so a full pipe never blocks it.
  child.stdout?.resume()
  return { child, url }
}

/**
 * The `http { }` body the tests run nginx with by default: an upstream of the replicas and one server
 * proxying to it with deploy/nginx/relay-proxy.conf, as a deployment's own server block would include it.
 */
function proxyServer(upstreams: string[], port: number): string {
  return `  upstream agent_comm_relay {
${upstreams.map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://agent_comm_relay;
      include ${PROXY_CONF};
      # For the test only: which replica answered.
      add_header X-Upstream $upstream_addr always;
    }
  }
`
}

/**
 * The `http { }` body of deploy/nginx/agent-comm-relay.conf itself, the documented full config, with only
 * what a loopback test must change: its example replicas replaced by `upstreams`, its ports by free ones on
 * 127.0.0.1, and TLS (certificates, HTTP/2) taken out. `include relay-proxy.conf` stays as written: a copy
 * sits beside nginx.conf in the prefix, where nginx looks for it.
 */
function fullConfig(upstreams: string[], port: number, redirectPort: number): string {
  const text = readFileSync(FULL_CONF, 'utf8')
  const replicas = upstreams
    .map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=5s;`)
    .join('\n')
  const changed = text
    .replace(/^\s*server 10\.0\.0\.\d+:8420 .*\n/gm, '')
    .replace(/upstream agent_comm_relay \{\n/, (m) => `${m}${replicas}\n`)
    .replace(/^\s*listen 80;$/m, `    listen 127.0.0.1:${redirectPort};`)
    .replace(/^\s*listen 443 ssl;$/m, `    listen 127.0.0.1:${port};`)
    .replace(/^\s*(ssl_\w+|http2) .*\n/gm, '')
  for (const expected of [replicas, `listen 127.0.0.1:${port};`, `listen 127.0.0.1:${redirectPort};`]) {
    if (!changed.includes(expected))
      throw new Error(`${FULL_CONF} changed shape: the test could not set ${expected}`)
  }
  return changed
}

/**
 * nginx in the foreground on a loopback port, with its own prefix, pid file, logs and temp folders, and
 * the body of its `http { }` block: {@link proxyServer}, or with `full` {@link fullConfig}. Resolves its URL.
 */
async function startNginx(upstreams: string[], full = false): Promise<string> {
  const prefix = tempDir()
  for (const dir of ['logs', 'tmp']) mkdirSync(join(prefix, dir), { recursive: true })
  copyFileSync(PROXY_CONF, join(prefix, 'relay-proxy.conf'))
  const port = await freePort()
  const body = full ? fullConfig(upstreams, port, await freePort()) : proxyServer(upstreams, port)
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
${body}}
`,
  )
  const child = spawn(nginx as string, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' })
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGQUIT')
    await gone
  })
  const url = `http://127.0.0.1:${port}`
  await expect
    .poll(
      () =>
        fetch(`${url}/api/v1/health/live`).then(
          (r) => r.status,
          () => 0,
        ),
      { timeout: 60_000 },
    )
    .toBe(200)
  return url
}

/**
 * Two replicas on a fresh database (dropped after the test), sharing a secrets key, behind nginx; with
 * `secretsFor(ids)` issuing secrets through the relay's own store there (as `relay gen-secret --db` does).
 */
async function replicasBehindNginx(
  name: string,
  settings: Record<string, string> = {},
  nginxOptions: { fullConfig?: boolean } = {},
) {
  const db = await createTestDatabase({ name })
  // Registered first, so it runs last: after the replicas and nginx are stopped.
  onCleanup(() => db.drop())
  const key = RelaySecretsKey.generate()
  const env = {
    AGENT_COMM_RELAY_DATABASE_URL: db.url,
    AGENT_COMM_RELAY_SECRETS_KEY: key.toBase64(),
    AGENT_COMM_RELAY_TRUST_PROXY: '127.0.0.1',
    AGENT_COMM_RELAY_RATE_LIMIT: '0',
    ...settings,
  }
  const a = await startReplica(env)
  const b = await startReplica(env)
  const proxy = await startNginx([a.url, b.url], nginxOptions.fullConfig ?? false)
  const secretsFor = async (ids: readonly string[]): Promise<Record<string, string>> => {
    const { openPostgresRelayStores } = await import('@agent-comm/postgres')
    const stores = await openPostgresRelayStores({ url: db.url, key })
    const secrets: Record<string, string> = {}
    for (const id of ids) secrets[id] = (await stores.secrets.generate(id)).secret
    await stores.close()
    return secrets
  }
  return { db, env, a, b, proxy, secretsFor }
}

describe.skipIf(!canRun)('two relay replicas on PostgreSQL behind nginx', () => {
  it('serves agents through the proxy, refuses replays across replicas, wakes long polls across them, and loses no acknowledged send when one is SIGKILLed under load', async () => {
    const { a, b, proxy, secretsFor } = await replicasBehindNginx('relay_nginx')
    const secrets = await secretsFor(['architect', 'builder', 'w0', 'w1', 'w2', 'w3', 'sink'])
    const secretFor = (id: string) => secrets[id]

    // The Quick Test's exchange, over http agents through the proxy: register, send, claim, ack, status.
    const architect = new HttpTransport({ baseUrl: proxy, secretFor, identity: 'architect', retries: 5 })
    const builder = new RelayClient({ baseUrl: proxy, secretFor, retries: 5 })
    onCleanup(() => architect.close())
    onCleanup(() => builder.close())
    await builder.register({ agentId: 'architect', capabilities: ['plan'] })
    await builder.register({ agentId: 'builder', capabilities: ['code'] })
    const task = createMessage({
      fromAgent: 'architect',
      toAgent: 'builder',
      subject: 'Build it',
      body: 'go',
    })
    await architect.client.send(task)
    const [claimed] = await builder.claim('builder')
    expect(claimed?.message.subject).toBe('Build it')
    await builder.ack(task.id, 'builder')
    expect((await architect.client.status(task.id, { as: 'architect' })).deliveries[0]?.status).toBe('acked')

    // A signed request passes through unchanged (query string included); replayed straight to either
    // replica it is refused, whichever one served it.
    const path = '/api/v1/agents/builder/wait?timeoutMs=0'
    const headers = signRequest(secrets.builder!, {
      method: 'GET',
      path,
      body: '',
      agentId: 'builder',
      timestamp: Date.now(),
    })
    expect((await fetch(`${proxy}${path}`, { headers })).status).toBe(200)
    for (const replica of [a, b]) expect((await fetch(`${replica.url}${path}`, { headers })).status).toBe(409)

    // A long poll parked on one replica (through nginx) is woken by a send made straight to the other.
    let crossed = false
    for (let round = 0; round < 6 && !crossed; round++) {
      const parked = fetchClaim(proxy, secrets.builder!)
      // Sent once the poll is parked on one of the replicas (its gauge says so), not after a guessed delay.
      await expect
        .poll(async () => (await longPolls(a.url)) + (await longPolls(b.url)), { timeout: 60_000 })
        .toBe(1)
      const target = round % 2 === 0 ? a : b
      const sender = new RelayClient({ baseUrl: target.url, secretFor, retries: 3 })
      const wake = createMessage({
        fromAgent: 'architect',
        toAgent: 'builder',
        subject: `wake ${round}`,
        body: '.',
      })
      await sender.send(wake)
      await sender.close()
      const { upstream, ids } = await parked
      expect(ids).toContain(wake.id)
      crossed = upstream !== new URL(target.url).host
    }
    expect(crossed).toBe(true)

    // Four clients send through nginx; one replica is SIGKILLed midway. Every send answered 2xx must be
    // stored exactly once, and the clients finish through the survivor.
    const perClient = 40
    let killed: Promise<unknown> | undefined
    const acknowledged = await sendLoad(proxy, secretFor, perClient, () => {
      a.child.kill('SIGKILL')
      killed = new Promise((resolve) => a.child.once('exit', resolve))
    })
    await killed
    expect(acknowledged).toHaveLength(4 * perClient)

    const sink = new RelayClient({ baseUrl: proxy, secretFor, retries: 8 })
    onCleanup(() => sink.close())
    const seen = new Map<string, number>()
    for (;;) {
      const batch = await sink.claim('sink', { limit: 100 })
      if (batch.length === 0) break
      for (const c of batch) seen.set(c.message.id, (seen.get(c.message.id) ?? 0) + 1)
      await sink.ackBatch(
        'sink',
        batch.map((c) => ({ messageId: c.message.id })),
      )
    }
    for (const id of acknowledged) expect(seen.get(id), id).toBe(1)
    expect(seen.size).toBe(acknowledged.length)
  })

  it('counts failed authentications by the address nginx saw: an X-Forwarded-For the client made up does not get it past the limit', async () => {
    // The client is on 127.0.0.1, the proxy the replicas trust: as a client is whenever the relay trusts
    // more than nginx (`--trust-proxy true`, a range holding clients).
    const { proxy } = await replicasBehindNginx('relay_nginx_xff', {
      AGENT_COMM_RELAY_AUTH_FAILURE_LIMIT: '2',
    })
    const path = '/api/v1/agents/builder/wait?timeoutMs=0'
    const statuses: number[] = []
    for (let i = 1; i <= 8; i++) {
      const headers = signRequest('acs_not-the-secret-of-builder', {
        method: 'GET',
        path,
        body: '',
        agentId: 'builder',
        timestamp: Date.now(),
      })
      // A new made-up address on every request, as a client escaping a per-address limit would send.
      const response = await fetch(`${proxy}${path}`, {
        headers: { ...headers, 'x-forwarded-for': `203.0.113.${i}` },
      })
      await response.body?.cancel()
      statuses.push(response.status)
    }
    // Two replicas, two failures each allowed: whichever got which, the last requests are refused.
    expect(statuses.slice(0, 2)).toEqual([401, 401])
    expect(statuses.slice(-2)).toEqual([429, 429])
  })

  it('serves the API through the documented full config (agent-comm-relay.conf) but not /metrics, which each replica still serves on its own address', async () => {
    const { a, b, proxy } = await replicasBehindNginx('relay_nginx_full', {}, { fullConfig: true })
    expect((await fetch(`${proxy}/api/v1/health/live`)).status).toBe(200)
    for (const path of ['/metrics', '/metrics?format=prometheus', '//metrics', '/%6Detrics']) {
      const response = await fetch(`${proxy}${path}`)
      const text = await response.text()
      expect(response.status, path).toBe(404)
      expect(text, path).not.toContain('agent_comm_relay_')
    }
    for (const replica of [a, b]) expect((await fetch(`${replica.url}/metrics`)).status).toBe(200)
  })

  it('names the port clients used in A2A cards without --public-url, and still serves a request that has no Host', async () => {
    const { proxy } = await replicasBehindNginx('relay_nginx_host', {}, { fullConfig: true })
    // The proxy is on a port of its own (not 80): the card's URLs must keep it.
    const card = (await (await fetch(`${proxy}/.well-known/agent-card.json`)).json()) as {
      provider: { url: string }
    }
    expect(card.provider.url).toBe(proxy)
    // HTTP/1.0 allows a request without Host: the replicas get nginx's server name instead, not a 400.
    const answer = await rawRequest(proxy, 'GET /api/v1/health/live HTTP/1.0\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
  })

  it("runs the CLI's Quick Test with http agents through nginx: register, send, poll, ack and status", async () => {
    const { db, env, proxy } = await replicasBehindNginx('relay_nginx_quick')
    const home = tempDir()
    // The environment of a user's shell: none of the test runner's AGENT_COMM_* variables.
    const shell: NodeJS.ProcessEnv = { NO_COLOR: '1', AGENT_COMM_DB_PATH: join(home, 'agents.db') }
    for (const [name, value] of Object.entries(process.env))
      if (!name.startsWith('AGENT_COMM_')) shell[name] = value
    const run = promisify(execFile)

    // Each agent's secret, issued by the CLI on the replicas' database, in the variable it names.
    for (const agent of ['agent-a', 'agent-b']) {
      const { stdout } = await run(
        process.execPath,
        [CLI, 'relay', 'gen-secret', agent, '--db', db.url, '--json'],
        { cwd: home, env: { ...shell, AGENT_COMM_RELAY_SECRETS_KEY: env.AGENT_COMM_RELAY_SECRETS_KEY } },
      )
      const { secret, envVar } = JSON.parse(stdout) as { secret: string; envVar: string }
      shell[envVar] = secret
    }

    const quick = await run('bash', [QUICK_TEST], {
      cwd: home,
      env: {
        ...shell,
        AGENT_COMM: CLI,
        QUICK_TEST_REGISTER_FLAGS: `--transport-type http --relay-url ${proxy}`,
      },
    })
    expect(quick.stdout).toContain('Found 1 message(s) for agent-b:')
    expect(quick.stdout).toContain('Subject: Greeting')
    expect(quick.stdout).toContain('quick test passed')
    // The message went through the relay: the agents' own database never held it.
    const stats = await run(process.execPath, [CLI, 'stats', '--json'], { cwd: home, env: shell })
    expect((JSON.parse(stats.stdout) as { totalMessages: number }).totalMessages).toBe(0)
  })

  it('drains a replica on SIGTERM under load: requests in flight finish, its long polls end and clients go on through the other, it exits 0, and no acknowledged send is lost', async () => {
    const { a, b, proxy, secretsFor } = await replicasBehindNginx('relay_nginx_drain')
    const secrets = await secretsFor(['builder', 'w0', 'w1', 'w2', 'w3', 'sink'])
    const secretFor = (id: string) => secrets[id]

    // The sink consumes through nginx with long polls (some park on a) while four clients send; leases
    // outlast the test, so a message is seen twice only if it was stored twice.
    const acknowledged: string[] = []
    const seen = new Map<string, number>()
    let sending = true
    const sink = new RelayClient({ baseUrl: proxy, secretFor, retries: 8, retryDelayMs: 100 })
    onCleanup(() => sink.close())
    const consumer = (async () => {
      while (sending || acknowledged.some((id) => !seen.has(id))) {
        let batch: Awaited<ReturnType<RelayClient['claim']>>
        try {
          batch = await sink.claim('sink', { limit: 100, leaseSeconds: 3600, waitMs: 2_000 })
        } catch {
          // A claim refused (503) by the replica that is draining was never run: ask again.
          await new Promise((resolve) => setTimeout(resolve, 100))
          continue
        }
        for (const c of batch) seen.set(c.message.id, (seen.get(c.message.id) ?? 0) + 1)
      }
    })()

    const perClient = 40
    let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
    let parkedOnA: ReturnType<typeof fetchClaim> | undefined
    await sendLoad(
      proxy,
      secretFor,
      perClient,
      async () => {
        stopped = new Promise((resolve) => a.child.once('exit', (code, signal) => resolve({ code, signal })))
        // A long poll parked straight on replica a when it is told to stop: it must be answered, not cut.
        parkedOnA = fetchClaim(a.url, secrets.builder!)
        await expect.poll(() => longPolls(a.url), { timeout: 60_000 }).toBeGreaterThanOrEqual(1)
        a.child.kill('SIGTERM')
      },
      acknowledged,
    )
    sending = false
    // Replica a stopped by itself, cleanly, and its parked long poll got an answer (empty) before it did.
    expect(await stopped).toEqual({ code: 0, signal: null })
    // Answered while draining: once stopping, the relay closes the connection of every answer it gives.
    const answered = await (parkedOnA as ReturnType<typeof fetchClaim>)
    expect(answered).toMatchObject({ status: 200, ids: [], connection: 'close' })

    await consumer
    expect(acknowledged).toHaveLength(4 * perClient)
    for (const id of acknowledged) expect(seen.get(id), id).toBe(1)
    expect(seen.size).toBe(acknowledged.length)
    // The survivor serves on: a long poll through nginx now parks on b.
    const after = fetchClaim(proxy, secrets.builder!)
    await expect.poll(() => longPolls(b.url), { timeout: 60_000 }).toBe(1)
    const wake = createMessage({ fromAgent: 'w0', toAgent: 'builder', subject: 'after', body: '.' })
    const sender = new RelayClient({ baseUrl: proxy, secretFor, retries: 8 })
    onCleanup(() => sender.close())
    await sender.send(wake)
    const woken = await after
    expect(woken.ids).toEqual([wake.id])
    expect(woken.upstream).toBe(new URL(b.url).host)
  })
})

/**
 * Four clients, w0 to w3, each sending `perClient` messages to `sink` through `proxy`; `midway` runs once,
 * after the first `perClient` sends, while they go on. The client retries a send that met a dead or
 * draining replica; on failure the worker sends it again itself, by the same id, until some replica
 * answers. Resolves `acknowledged`: the id of every send answered 2xx, pushed as it was answered.
 */
async function sendLoad(
  proxy: string,
  secretFor: (id: string) => string | undefined,
  perClient: number,
  midway: () => Promise<void> | void,
  acknowledged: string[] = [],
): Promise<string[]> {
  let sent = 0
  let midwayRun = false
  const workers = [0, 1, 2, 3].map(async (w) => {
    const client = new RelayClient({ baseUrl: proxy, secretFor, retries: 8, retryDelayMs: 100 })
    try {
      for (let i = 0; i < perClient; i++) {
        const message = createMessage({
          fromAgent: `w${w}`,
          toAgent: 'sink',
          subject: `${w}-${i}`,
          body: 'load',
        })
        for (;;) {
          try {
            await client.send(message)
            acknowledged.push(message.id)
            break
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
        }
        sent++
        if (sent === perClient && !midwayRun) {
          midwayRun = true
          await midway()
        }
      }
    } finally {
      await client.close()
    }
  })
  await Promise.all(workers)
  return acknowledged
}

/** The replica's parked long polls, from its /metrics. */
async function longPolls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(/^agent_comm_relay_long_polls (\d+)$/m.exec(text)?.[1] ?? 'NaN')
}

/** A claim with a 20 s long poll through `url`, saying which upstream answered and how. */
async function fetchClaim(
  url: string,
  secret: string,
): Promise<{ status: number; upstream: string; ids: string[]; connection: string | null }> {
  const path = '/api/v1/agents/builder/claim'
  const body = JSON.stringify({ limit: 10, waitMs: 20_000 })
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...signRequest(secret, { method: 'POST', path, body, agentId: 'builder', timestamp: Date.now() }),
    },
  })
  const json = (await response.json()) as { messages?: { message: { id: string } }[] }
  const ids = (json.messages ?? []).map((m) => m.message.id)
  // Acked so the next round starts from an empty queue.
  for (const id of ids) {
    const ackPath = `/api/v1/agents/builder/ack`
    const ackBody = JSON.stringify({ items: [{ messageId: id }] })
    await fetch(`${url}${ackPath}`, {
      method: 'POST',
      body: ackBody,
      headers: {
        'content-type': 'application/json',
        ...signRequest(secret, {
          method: 'POST',
          path: ackPath,
          body: ackBody,
          agentId: 'builder',
          timestamp: Date.now(),
        }),
      },
    })
  }
  return {
    status: response.status,
    upstream: response.headers.get('x-upstream') ?? '',
    ids,
    connection: response.headers.get('connection'),
  }
}
