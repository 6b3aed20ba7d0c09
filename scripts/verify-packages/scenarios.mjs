// What the bins of the installed packages must do, run as a user runs them: through node_modules/.bin.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run, startServer } from './processes.mjs'
import { packageName } from './static-checks.mjs'

const RECORDER = fileURLToPath(new URL('./record-modules.mjs', import.meta.url))

/**
 * What `agent-comm send` must not load: the relay's server, the MCP server, the HTTP client. The last two
 * live in the CLI's own bundle chunks (scripts/bundle-runtime.mjs), which loadedPackages looks into.
 */
const NOT_FOR_SEND = [
  'fastify',
  'pino',
  '@agent-comm/relay',
  '@agent-comm/mcp',
  '@modelcontextprotocol/sdk',
  '@agent-comm/transport-http',
  '@agent-comm/secrets',
  'undici',
  // PostgreSQL: only for a postgres:// database, never for the default SQLite one.
  '@agent-comm/postgres',
  'pg',
]

/** Runs a command with the module recorder preloaded; resolves its result and every resolution it made. */
async function recorded(command, args, options, logFile) {
  rmSync(logFile, { force: true })
  const env = { ...options.env, NODE_OPTIONS: `--import=${RECORDER}`, AGENT_COMM_MODULE_LOG: logFile }
  const result = await run(command, args, { ...options, env })
  const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []
  return { ...result, resolutions: lines.map((line) => JSON.parse(line)) }
}

/** The installed package (`name` and folder) that holds a file URL, from its last node_modules segment. */
function owner(url) {
  if (url === undefined || !url.startsWith('file:')) return undefined
  const path = fileURLToPath(url)
  const match = /^(.*\/node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(path)
  return match === null ? undefined : { name: match[2], dir: match[1] + match[2] }
}

/**
 * The packages esbuild bundled into `file`, from the comment it writes above each module it bundles:
 * `// ../../node_modules/.pnpm/undici@8.13.1/node_modules/undici/index.js` is undici,
 * `// ../transport-http/dist/index.js` (a sibling of packages/cli) or `// ../../apps/relay/dist/…` one of ours.
 */
export function bundledIn(file) {
  const names = new Set()
  for (const [, module] of readFileSync(file, 'utf8').matchAll(/^\/\/ (\S+\.[cm]?[jt]s)$/gm)) {
    const at = module.lastIndexOf('node_modules/')
    if (at >= 0) {
      names.add(packageName(module.slice(at + 'node_modules/'.length)))
      continue
    }
    const sibling = /^\.\.\/(?:\.\.\/apps\/)?([a-z-]+)\//.exec(module)?.[1]
    if (sibling !== undefined) names.add(`@agent-comm/${sibling}`)
  }
  return names
}

/**
 * The packages a process loaded, each with where from: '' when resolved as itself, ' (bundled into …)' when
 * it came inside a file of an @agent-comm package (the CLI's runtime bundle and its chunks), where the
 * recorder sees only that file being resolved.
 */
function loadedPackages(resolutions) {
  const loaded = new Map()
  for (const url of new Set(resolutions.map((r) => r.url))) {
    const from = owner(url)
    if (from === undefined) continue
    if (!loaded.has(from.name)) loaded.set(from.name, '')
    if (!from.name.startsWith('@agent-comm/') || !/\.m?js$/.test(url)) continue
    const path = fileURLToPath(url)
    for (const name of bundledIn(path)) {
      if (!loaded.has(name)) loaded.set(name, ` (bundled into ${from.name}/${relative(from.dir, path)})`)
    }
  }
  return loaded
}

/**
 * Problems with what @agent-comm packages really imported at run time: every bare import must be declared
 * by the importing package in its installed package.json (a hoisted devDependency would hide otherwise).
 */
export function undeclaredAtRuntime(resolutions) {
  const problems = new Set()
  for (const { parent, specifier } of resolutions) {
    const from = owner(parent)
    if (from === undefined || !from.name.startsWith('@agent-comm/')) continue
    // A path or URL names a file already resolved (the coordinator requires the ES module entry of
    // @opentelemetry/api by its path, after import.meta.resolve of the bare name, which is checked here).
    if (specifier.startsWith('.') || specifier.startsWith('file:') || isAbsolute(specifier)) continue
    if (isBuiltin(specifier)) continue
    const pkg = JSON.parse(readFileSync(join(from.dir, 'package.json'), 'utf8'))
    const name = packageName(specifier)
    const declared = [pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })]
    if (!declared.includes(name))
      problems.add(`${from.name} imported ${specifier} at run time without declaring ${name}`)
  }
  return [...problems]
}

/**
 * The CLI: `--help` without loading the runtime, the demo, the original guide's Quick Test (the same script
 * as packages/cli/test runs against the checkout), and a `send` that loads no server code.
 */
export async function cliScenario({ env, workspaceRoot, work }) {
  const problems = []
  const logFile = join(work, 'cli-modules.jsonl')
  const help = await recorded('agent-comm', ['--help'], { cwd: work, env }, logFile)
  if (!help.stdout.includes('USAGE') || !/\n {2}send +/.test(help.stdout))
    problems.push('agent-comm --help lists no commands')
  const helpLoaded = loadedPackages(help.resolutions)
  for (const name of ['better-sqlite3', 'zod', ...NOT_FOR_SEND]) {
    if (helpLoaded.has(name)) problems.push(`agent-comm --help loaded ${name}${helpLoaded.get(name)}`)
  }

  const demo = await run('agent-comm', ['demo'], { cwd: work, env, timeoutMs: 60_000 })
  if (!/architect acks the result/.test(demo.stdout))
    problems.push('agent-comm demo did not reach its last step')

  const script = join(work, 'quick-test.sh')
  copyFileSync(join(workspaceRoot, 'packages', 'cli', 'test', 'quick-test.sh'), script)
  const db = join(work, 'quick-test', 'coordination.db')
  mkdirSync(join(work, 'quick-test'), { recursive: true })
  const quick = await run('bash', [script], {
    cwd: join(work, 'quick-test'),
    env: { ...env, AGENT_COMM_DB_PATH: db },
  })
  if (!quick.stdout.endsWith('quick test passed\n')) problems.push('the Quick Test did not pass')
  if (quick.stderr !== '') problems.push(`the Quick Test wrote to stderr: ${quick.stderr}`)

  const send = await recorded(
    'agent-comm',
    ['send', 'agent-a', 'agent-b', 'Is fastify loaded?', '-s', 'Lazy'],
    { cwd: work, env: { ...env, AGENT_COMM_DB_PATH: db } },
    logFile,
  )
  const sendLoaded = loadedPackages(send.resolutions)
  if (!sendLoaded.has('better-sqlite3'))
    problems.push('the module recorder saw no better-sqlite3 in send: is it working?')
  // The coordinator reaches send only inside the CLI's runtime bundle (drizzle-orm no longer does: the spool
  // loads it only for its read side): not finding it means bundledIn no longer sees into the bundle
  // (esbuild's module comments gone?), and would miss undici in a chunk as well.
  if (!sendLoaded.get('@agent-comm/coordinator')?.startsWith(' (bundled into @agent-comm/cli/'))
    problems.push('found no coordinator bundled into the CLI in send: can bundledIn still read the bundle?')
  for (const name of NOT_FOR_SEND) {
    if (sendLoaded.has(name)) problems.push(`agent-comm send loaded ${name}${sendLoaded.get(name)}`)
  }
  problems.push(...undeclaredAtRuntime([...help.resolutions, ...send.resolutions]))
  return problems
}

/** The MCP server's bin answers `--version` (its example, an SDK client, covers initialize and tools/list). */
export async function mcpScenario({ env, work }) {
  const version = await run('agent-comm-mcp', ['--version'], { cwd: work, env })
  return /^\d+\.\d+\.\d+/.test(version.stdout) ? [] : [`agent-comm-mcp --version printed '${version.stdout}'`]
}

/** The relay's bin on an ephemeral port answers /api/v1/health and stops cleanly on SIGTERM. */
export async function relayScenario({ env, work }) {
  const problems = []
  const logFile = join(work, 'relay-modules.jsonl')
  rmSync(logFile, { force: true })
  const relay = startServer(
    'agent-comm-relay',
    ['--port', '0', '--data-dir', join(work, 'relay-data'), '--log-level', 'info'],
    {
      cwd: work,
      env: { ...env, NODE_OPTIONS: `--import=${RECORDER}`, AGENT_COMM_MODULE_LOG: logFile },
      ready: (line) => (line.includes('"relay listening"') ? JSON.parse(line).url : undefined),
    },
  )
  try {
    const url = await relay.started
    const response = await fetch(`${url}/api/v1/health`)
    const body = await response.json()
    if (response.status !== 200 || body.status !== 'ok') {
      problems.push(`GET /api/v1/health answered ${response.status} ${JSON.stringify(body)}`)
    }
  } finally {
    const code = await relay.stop()
    if (code !== 0) problems.push(`agent-comm-relay exited with ${code} on SIGTERM\n${relay.output()}`)
  }
  const resolutions = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
  if (!loadedPackages(resolutions).has('fastify'))
    problems.push('the module recorder saw no fastify in the relay')
  problems.push(...undeclaredAtRuntime(resolutions))
  return problems
}
