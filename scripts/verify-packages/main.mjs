// `pnpm verify:packages`: proves every published package works as a user receives it. In a temporary folder
// outside the workspace it packs each package with `pnpm pack`, checks the tarball (metadata, files,
// imports, README), installs it with plain npm into a scratch app of its own, type-checks and runs the
// example its README shows, runs the bins (the CLI's Quick Test, the MCP server, the relay), and measures
// what the install brought along.
//
//   pnpm verify:packages            check everything; exits 1 on any problem, or when the size table in the
//                                   root README is stale (see size-table.mjs for how close it must be)
//   pnpm verify:packages --table    rewrite the size table in the root README instead
//   pnpm verify:packages --sync-readmes   first copy each example file into its README's first ts block
//   pnpm verify:packages --keep     keep the temporary folder for a look around
//   pnpm verify:packages --only @agent-comm/spool   check some packages only (repeatable)
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HEAVY, PLANS } from './plans.mjs'
import { run } from './processes.mjs'
import { cliScenario, mcpScenario, relayScenario } from './scenarios.mjs'
import { installApp, runExample } from './scratch.mjs'
import {
  compareSizeTables,
  formatSizeTable,
  replaceTableSection,
  sizeRows,
  tableSection,
} from './size-table.mjs'
import {
  checkChangesets,
  checkImports,
  checkMetadata,
  checkReadme,
  checkTarball,
  listFiles,
} from './static-checks.mjs'

const SCENARIOS = {
  '@agent-comm/cli': cliScenario,
  '@agent-comm/mcp': mcpScenario,
  '@agent-comm/relay': relayScenario,
}

const { values: flags } = parseArgs({
  options: {
    table: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'sync-readmes': { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
  },
})
const root = fileURLToPath(new URL('../..', import.meta.url))
const started = Date.now()
const results = []

/** Runs one named check; a thrown error or any returned problem fails it. Never throws. */
async function check(name, body) {
  const t0 = Date.now()
  let problems
  try {
    problems = (await body()) ?? []
  } catch (error) {
    problems = [error instanceof Error ? error.message : String(error)]
  }
  results.push({ name, problems })
  const seconds = ((Date.now() - t0) / 1000).toFixed(1)
  process.stdout.write(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${name} (${seconds} s)\n`)
  for (const problem of problems) process.stdout.write(`     - ${problem.replaceAll('\n', '\n       ')}\n`)
  return problems.length === 0
}

// The workspace's packages, as pnpm-workspace.yaml lists them (packages/* and apps/*).
const workspace = { root: root.replace(/\/$/, ''), byName: new Map() }
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name)
    try {
      statSync(join(dir, 'package.json'))
    } catch {
      continue
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    workspace.byName.set(pkg.name, { dir, pkg })
  }
}
const published = [...workspace.byName.values()].filter(({ pkg }) => !pkg.private)
// In the order of PLANS: the dependency order, as the root README lists the packages.
const order = Object.keys(PLANS)
published.sort((a, b) => order.indexOf(a.pkg.name) - order.indexOf(b.pkg.name))
const selected = published.filter(({ pkg }) => flags.only === undefined || flags.only.includes(pkg.name))

if (flags['sync-readmes']) {
  for (const { dir, pkg } of published) {
    const example = PLANS[pkg.name]?.example
    if (example === undefined) continue
    const path = join(dir, 'README.md')
    const code = readFileSync(join(dir, example), 'utf8')
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(/^```ts\n[\s\S]*?^```$/m, () => `\`\`\`ts\n${code}\`\`\``),
    )
  }
}

await check('every published package has a plan in scripts/verify-packages/plans.mjs', () =>
  published.filter(({ pkg }) => PLANS[pkg.name] === undefined).map(({ pkg }) => `${pkg.name} has no plan`),
)

await check('changesets: a package is released with the packages it bundles', () =>
  checkChangesets(join(root, '.changeset'), workspace),
)

// Packages are packed from their dist/ folders: build first (turbo answers from its cache when nothing changed).
const built = await check('pnpm exec turbo run build', async () => {
  await run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    timeoutMs: 600_000,
  })
})

/** Prints the closing line and exits: 1 when any check failed. */
function finish(work) {
  if (work !== undefined && flags.keep) process.stdout.write(`kept ${work}\n`)
  else if (work !== undefined) rmSync(work, { recursive: true, force: true })
  const failed = results.filter((r) => r.problems.length > 0).length
  process.stdout.write(`verify:packages took ${Math.round((Date.now() - started) / 1000)} s\n`)
  process.stdout.write(`packages: ${results.length - failed} passed, ${failed} failed\n`)
  process.exit(failed > 0 ? 1 : 0)
}
if (!built) finish(undefined)

const work = mkdtempSync(join(tmpdir(), 'agent-comm-packages-'))
const home = join(work, 'home')
const temp = join(work, 'tmp')
for (const dir of [home, temp, join(work, 'tarballs'), join(work, 'runs')])
  mkdirSync(dir, { recursive: true })
// Apps run with a HOME and TMPDIR of their own, so nothing the bins write lands in the user's home. npm keeps
// the real HOME: its cache and settings.
const nodeDir = dirname(process.execPath)
const appEnv = (app) => ({
  PATH: `${join(app, 'node_modules', '.bin')}:${nodeDir}:${process.env.PATH}`,
  HOME: home,
  TMPDIR: temp,
  LANG: 'C.UTF-8',
})
const npmEnv = { ...process.env, PATH: `${nodeDir}:${process.env.PATH}` }

const tarballs = new Map()
const unpacked = new Map()
await check('pnpm pack: every published package', async () => {
  for (const { dir, pkg } of published) {
    const file = join(work, 'tarballs', `${pkg.name.slice(1).replace('/', '-')}-${pkg.version}.tgz`)
    await run('pnpm', ['pack', '--pack-destination', join(work, 'tarballs')], { cwd: dir, env: npmEnv })
    const into = join(work, 'unpacked', pkg.name.split('/')[1])
    mkdirSync(into, { recursive: true })
    await run('tar', ['-xzf', file, '-C', into, '--strip-components=1'])
    tarballs.set(pkg.name, file)
    unpacked.set(pkg.name, into)
  }
})

for (const entry of selected) {
  const { pkg } = entry
  const plan = PLANS[pkg.name]
  if (plan === undefined || !unpacked.has(pkg.name)) continue
  await check(`${pkg.name}: metadata, tarball, imports, README`, async () => [
    ...checkMetadata(entry, workspace),
    ...checkTarball(entry, plan, unpacked.get(pkg.name), workspace),
    ...(await checkImports(entry, unpacked.get(pkg.name))),
    ...checkReadme(entry, plan),
  ])
}

const sizes = []
for (const { dir, pkg } of selected) {
  const plan = PLANS[pkg.name]
  if (plan === undefined || tarballs.size === 0) continue
  const folder = pkg.name.split('/')[1]
  let installed
  await check(`${pkg.name}: npm install in a scratch app`, async () => {
    const extra = plan.install.filter(
      (name) =>
        name !== pkg.name &&
        pkg.dependencies?.[name] === undefined &&
        pkg.peerDependencies?.[name] === undefined,
    )
    if (extra.length > 0)
      return [`the plan installs ${extra.join(', ')}, which ${pkg.name} does not depend on`]
    installed = await installApp({
      root: work,
      folder,
      install: plan.install,
      tarballs,
      ranges: pkg.dependencies,
      env: npmEnv,
    })
    const files = listFiles(unpacked.get(pkg.name))
    sizes.push({
      name: pkg.name,
      install: plan.install,
      tarball: statSync(tarballs.get(pkg.name)).size,
      unpacked: files.reduce((sum, file) => sum + statSync(join(unpacked.get(pkg.name), file)).size, 0),
      count: installed.count,
      bytes: installed.bytes,
    })
    const problems = []
    for (const name of HEAVY) {
      if (installed.names.has(name) && !(plan.allowHeavy ?? []).includes(name)) {
        problems.push(`installing ${pkg.name} brings ${name}`)
      }
    }
    if (plan.onlyDependencies !== undefined) {
      const others = [...installed.names].filter((n) => n !== pkg.name && !plan.onlyDependencies.includes(n))
      if (others.length > 0)
        problems.push(`installing ${pkg.name} brings ${others.join(', ')} besides ${plan.onlyDependencies}`)
    }
    return problems
  })
  if (installed === undefined) continue
  const env = appEnv(installed.app)
  if (plan.example !== undefined) {
    await check(`${pkg.name}: ${plan.example} type-checks and runs`, async () => {
      const database = plan.postgres ? createExampleDatabase() : undefined
      if (database?.problem !== undefined) return [database.problem]
      try {
        const stdout = await runExample({
          app: installed.app,
          example: join(dir, plan.example),
          workspaceRoot: root,
          env: database === undefined ? env : { ...env, DATABASE_URL: database.url },
        })
        return plan.output.test(stdout) ? [] : [`it printed:\n${stdout}\nexpected: ${plan.output}`]
      } finally {
        database?.drop()
      }
    })
  }
  const scenario = SCENARIOS[pkg.name]
  if (scenario !== undefined) {
    const runDir = join(work, 'runs', folder)
    mkdirSync(runDir, { recursive: true })
    await check(`${pkg.name}: its bin works when installed`, () =>
      scenario({ app: installed.app, env, workspaceRoot: root, work: runDir }),
    )
  }
}

/**
 * A fresh database on the local PostgreSQL server (127.0.0.1:5432, as on every machine of this project) for
 * an example that needs one, made and dropped with psql; or the problem when there is no server.
 */
function createExampleDatabase() {
  const name = `agent_comm_pkg_${randomBytes(4).toString('hex')}`
  const psql = (sql) =>
    spawnSync('psql', ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-qAtc', sql], {
      encoding: 'utf8',
    })
  const made = psql(`CREATE DATABASE ${name}`)
  if (made.status !== 0) {
    return {
      problem: `its example needs a PostgreSQL server on 127.0.0.1:5432 (user postgres): ${made.error?.message ?? made.stderr.trim()}`,
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

const table = formatSizeTable(sizeRows(sizes))
if (sizes.length > 0) process.stdout.write(`\n${table}\n\n`)
const readmePath = join(root, 'README.md')
if (flags.table) {
  await check('README.md: the size table is rewritten', () => {
    if (sizes.length !== published.length) return ['--table needs every package measured (drop --only)']
    writeFileSync(readmePath, replaceTableSection(readFileSync(readmePath, 'utf8'), table))
    return []
  })
} else if (flags.only === undefined && sizes.length === published.length) {
  // Only a run that measured every package can tell; when one failed to install, that failure says enough.
  await check('README.md: the size table is up to date', () => {
    const shown = tableSection(readFileSync(readmePath, 'utf8'))
    if (shown === undefined)
      return ['README.md has no size table section: run `pnpm verify:packages --table`']
    const stale = compareSizeTables(shown, sizeRows(sizes))
    if (stale.length === 0) return []
    return [
      'the size table in README.md is stale: run `pnpm verify:packages --table` and commit README.md',
      ...stale,
    ]
  })
}

finish(work)
