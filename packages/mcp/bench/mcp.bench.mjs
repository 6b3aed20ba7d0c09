// The figures of the MCP server that matter to assistants: start-up (time to answer `initialize`, and
// memory), the size of `tools/list` per tool profile, and the cost of reading a 200-message thread at the
// default budget. Tokens are estimated as characters / 4. Medians of several runs; run with `pnpm bench`.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { createMcpServer } from '../dist/index.js'

const BIN = fileURLToPath(new URL('../bin/agent-comm-mcp.js', import.meta.url))
// The hook command lives in the CLI; measured here because it is what assistants run on every prompt.
const CLI = fileURLToPath(new URL('../../cli/bin/run.js', import.meta.url))
const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const tokens = (value) => Math.round(JSON.stringify(value).length / 4)

/** Spawns the bin, sends initialize, resolves [ms to the answer, peak RSS in MB]. */
function startOnce(db) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [BIN], {
      env: { PATH: process.env.PATH, AGENT_COMM_DB_PATH: db },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      if (!out.includes('"id":1')) return
      const ms = performance.now() - started
      let rss = Number.NaN
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        rss = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024
      } catch {
        // Not Linux: no peak RSS.
      }
      child.stdin.end()
      child.once('exit', () => resolve([ms, rss]))
    })
    child.once('error', reject)
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } })}\n`,
    )
  })
}

function bare() {
  return new Promise((resolve) => {
    const started = performance.now()
    spawn(process.execPath, ['-e', '0']).once('exit', () => resolve(performance.now() - started))
  })
}

/**
 * `agent-comm inbox AGENT --new --format hook-json` as a whole process, with hyperfine, against `node -e 0`
 * in the same run. Skipped when hyperfine or the CLI is missing.
 */
function hookCommand(db) {
  if (!existsSync(CLI) || spawnSync('hyperfine', ['--version']).status !== 0) {
    console.log('hook command: skipped (needs hyperfine and a built packages/cli)')
    return
  }
  const env = { ...process.env, AGENT_COMM_DB_PATH: db }
  spawnSync(process.execPath, [CLI, 'register', 'builder', '-c', 'code', '-d', 'local'], { env })
  spawnSync(process.execPath, [CLI, 'register', 'architect', '-c', 'plan', '-d', 'local'], { env })
  for (let i = 0; i < 20; i++) {
    spawnSync(process.execPath, [CLI, 'send', 'architect', 'builder', `task ${i}`, '-s', `Task ${i}`], {
      env,
    })
  }
  const out = join(dirname(db), 'hyperfine.json')
  const hook = `${process.execPath} ${CLI} inbox builder --new --format hook-json --client bench`
  const run = spawnSync(
    'hyperfine',
    [
      '-N',
      '--warmup',
      '3',
      '--runs',
      String(RUNS * 3),
      '--export-json',
      out,
      `${process.execPath} -e 0`,
      hook,
    ],
    { env, encoding: 'utf8' },
  )
  if (run.status !== 0) throw new Error(`hyperfine failed: ${run.stderr}`)
  const [bare, measured] = JSON.parse(readFileSync(out, 'utf8')).results.map((r) => r.median * 1000)
  console.log(
    `hook command (inbox --new, whole process, hyperfine): ${measured.toFixed(0)} ms (node -e 0 ${bare.toFixed(0)} ms, same run: ${(measured / bare).toFixed(1)}x)`,
  )
}

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-mcp-bench-'))
try {
  const db = join(dir, 'spool.db')
  await startOnce(db) // creates and migrates the database; not counted
  const starts = []
  const rss = []
  const nodes = []
  for (let i = 0; i < RUNS; i++) {
    const [ms, mb] = await startOnce(db)
    starts.push(ms)
    rss.push(mb)
    nodes.push(await bare())
  }
  console.log(
    `start-up: initialize answered in ${median(starts).toFixed(0)} ms (bare node ${median(nodes).toFixed(0)} ms, same run: ${(median(starts) / median(nodes)).toFixed(1)}x), peak RSS by then ${median(rss).toFixed(0)} MB (the database opens after the answer)`,
  )
  hookCommand(db)

  const coordinator = await createCoordinator(
    loadConfig({ AGENT_COMM_PROJECT_ROOT: dir, AGENT_COMM_DB_PATH: join(dir, 'thread.db') }),
  )
  const connect = async (options) => {
    const server = createMcpServer({ coordinator, ...options })
    const [a, b] = InMemoryTransport.createLinkedPair()
    await server.connect(a)
    const client = new Client({ name: 'bench', version: '1' })
    await client.connect(b)
    return client
  }
  const relaySecrets = { generate: async () => ({}), list: async () => [] }
  for (const tools of ['core', 'messaging', 'admin', 'all']) {
    const client = await connect({ tools, relaySecrets })
    const listed = await client.listTools()
    console.log(`tools/list, profile ${tools}: ${listed.tools.length} tools, ~${tokens(listed)} tokens`)
    await client.close()
  }

  await coordinator.register({ agentId: 'a', capabilities: [] })
  await coordinator.register({ agentId: 'b', capabilities: [] })
  const first = await coordinator.send({
    fromAgent: 'a',
    toAgent: 'b',
    subject: 'A long thread',
    body: 'x'.repeat(1500),
  })
  const conversationId = first.message.routing.conversationId
  for (let i = 1; i < 200; i++) {
    await coordinator.send({
      fromAgent: i % 2 ? 'b' : 'a',
      toAgent: i % 2 ? 'a' : 'b',
      body: `${i}: ${'y'.repeat(1500)}`,
      routing: { conversationId },
    })
  }
  const client = await connect({})
  const page = await client.callTool({
    name: 'comm_get_conversation',
    arguments: { conversation_id: conversationId },
  })
  const all = await client.callTool({
    name: 'comm_get_conversation',
    arguments: { conversation_id: conversationId, limit: 1000, max_body_chars: 1_048_576 },
  })
  console.log(
    `200-message thread (1.5 KB bodies): ~${tokens(page)} tokens at the defaults (20 newest, bodies trimmed to 300 chars); ~${tokens(all)} tokens in full`,
  )
  await client.close()
  await coordinator.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
