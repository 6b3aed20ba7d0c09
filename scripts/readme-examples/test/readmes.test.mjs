// Every fenced code block of every README, checked as printed: TypeScript type-checked and run, shell run
// with `set -e` and the workspace's bins on PATH, JSON parsed. A block that cannot run on one machine as
// printed carries a visible marker in the README saying why (see ../blocks.mjs); an unmarked block that the
// checker cannot run fails.
//
// Where blocks run: each TypeScript block (with the blocks marked as its continuation) as its own file in
// ../.work, from a fresh temporary folder. A README's shell blocks run one after another in one fresh folder
// per README, so a later block sees what an earlier one registered, as for a reader working down the page;
// shell variables do not carry from one block to the next. The folder's node_modules is the work folder's,
// as in a project that installed the packages. The root README documents commands run from the checkout, so
// its shell blocks run in the repository root, with AGENT_COMM_DB_PATH set to a fresh file.
//
// A block that runs until stopped (a server, `poll --follow`) starts in the background; once a line of its
// output matches its readiness pattern, the blocks marked to run while it runs run one after another, and
// then it gets SIGINT, as from Ctrl-C, and must exit 0 in time.
//
// A block that uses DATABASE_URL needs PostgreSQL: every block gets DATABASE_URL naming a database created
// for this run on the local server (127.0.0.1:5432) and dropped afterwards. With no server answering, those
// blocks are skipped, saying why — except under CI, where a missing PostgreSQL is a failure, never a skip.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attachClients, codeBlocks, decision, LANGUAGES, parseJsonValues } from '../blocks.mjs'
import { exampleEnv, packageOf, prepareWork, readmes, root, runCommand, startCommand } from '../workspace.mjs'

const work = new URL('../.work', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'agent-comm-readme-examples-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The local PostgreSQL server the examples that need one use, as psql reaches it. */
const PG = [
  '-h',
  '127.0.0.1',
  '-p',
  '5432',
  '-U',
  'postgres',
  '-d',
  'postgres',
  '-v',
  'ON_ERROR_STOP=1',
  '-qAtc',
]
const pgAnswers = spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).status === 0
const runsInCi = process.env.CI === 'true' || process.env.CI === '1'
const exampleDatabase = `agent_comm_readme_${randomBytes(4).toString('hex')}`
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${exampleDatabase}`
/** Why blocks that need PostgreSQL are skipped here, or undefined when they run. */
const noPostgres =
  pgAnswers || runsInCi
    ? undefined
    : 'needs a PostgreSQL server (DATABASE_URL): none answers on 127.0.0.1:5432'
const needsPostgres = (code) => code.includes('DATABASE_URL')

beforeAll(() => {
  if (!pgAnswers) return
  const made = spawnSync('psql', [...PG, `CREATE DATABASE ${exampleDatabase}`], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`could not create the examples' database: ${made.stderr}`)
})
afterAll(() => {
  if (pgAnswers) spawnSync('psql', [...PG, `DROP DATABASE IF EXISTS ${exampleDatabase} WITH (FORCE)`])
})

/** Each README's blocks with what to do with them; TypeScript to run gets its file name in .work. */
const plans = readmes().map((readme) => {
  const blocks = codeBlocks(readFileSync(join(root, readme), 'utf8'))
  const lastOfLanguage = new Map()
  const steps = blocks.map((block) => {
    const language = LANGUAGES[block.lang]
    let action
    try {
      action = decision(block)
    } catch (error) {
      return { block, language, action: { kind: 'invalid', problem: error.message } }
    }
    let code = block.code
    if (action.kind === 'continue') {
      const previous = lastOfLanguage.get(language)
      if (previous === undefined) {
        return {
          block,
          language,
          action: { kind: 'invalid', problem: 'continues a block, but none comes before it' },
        }
      }
      code = `${previous}${code}`
    }
    if (action.kind !== 'skip') lastOfLanguage.set(language, code)
    const file = `${readme.replace(/\/?README\.md$/, '').replaceAll('/', '-') || 'root'}-line-${block.line}.ts`
    return { block, language, action, code, file }
  })
  attachClients(steps)
  return { readme, steps }
})

const toRun = (step) => ['run', 'continue', 'server', 'client'].includes(step.action.kind)
const typescript = plans.flatMap((plan) => plan.steps).filter((s) => s.language === 'typescript' && toRun(s))

let bin
/** tsc's errors for each file in .work. */
const typeErrors = new Map()

beforeAll(async () => {
  const imports = new Set()
  for (const step of typescript) {
    for (const [, specifier] of step.code.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
      const pkg = packageOf(specifier)
      if (pkg !== undefined) imports.add(pkg)
    }
  }
  bin = prepareWork(work, [...imports])
  for (const step of typescript) writeFileSync(join(work, step.file), step.code)
  if (typescript.length === 0) return
  // One tsc pass for every block: starting the compiler once per block would dominate the run.
  const tsc = await runCommand(
    join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', 'tsconfig.json', '--pretty', 'false'],
    {
      cwd: work,
      env: process.env,
    },
  )
  for (const line of `${tsc.stdout}${tsc.stderr}`.split('\n')) {
    const file = /^([^(]+\.ts)\(/.exec(line)?.[1]
    if (file === undefined) continue
    typeErrors.set(file, [...(typeErrors.get(file) ?? []), line])
  }
  if (tsc.code !== 0 && typeErrors.size === 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`)
}, 300_000)

/** Fails with the block's output when it did not end with exit code 0. */
function expectSuccess(result, what) {
  const output = report(result)
  if (result.timedOut) expect.fail(`${what} did not finish in time (does it wait for Ctrl-C?)\n${output}`)
  if (result.code !== 0) expect.fail(`${what} exited with ${result.code ?? result.signal}\n${output}`)
}

/** How long a server may take to be ready, and to stop after SIGINT: generous, for a loaded machine. */
const READY_MS = 60_000
const STOP_MS = 30_000

/** The command that runs a step, where, and with what environment (see the top of this file). */
function invocation(readme, step) {
  const session = join(scratch, readme.replaceAll('/', '-'))
  if (step.language === 'typescript') {
    // A fresh folder whose node_modules is the work folder's, so `npx agent-comm-mcp` finds the bin there.
    const cwd = mkdtempSync(join(scratch, 'ts-'))
    symlinkSync(join(work, 'node_modules'), join(cwd, 'node_modules'))
    return {
      command: process.execPath,
      args: [join(work, step.file)],
      cwd,
      env: exampleEnv(bin, { HOME: cwd, DATABASE_URL }),
    }
  }
  const fromCheckout = readme === 'README.md'
  if (!existsSync(session)) {
    mkdirSync(session, { recursive: true })
    // As in a project that installed the packages: `node -e "import('@agent-comm/relay')…"` finds them.
    if (!fromCheckout) symlinkSync(join(work, 'node_modules'), join(session, 'node_modules'))
  }
  const env = exampleEnv(
    bin,
    // HOME too: nothing a block writes under ~ lands in the real one.
    {
      HOME: session,
      DATABASE_URL,
      ...(fromCheckout ? { AGENT_COMM_DB_PATH: join(session, 'data', 'coordination.db') } : {}),
    },
  )
  return { command: 'bash', args: ['-e', '-c', step.code], cwd: fromCheckout ? root : session, env }
}

/** Runs a step to its end and fails with its output unless it exits 0. */
async function runStep(readme, step, what) {
  if (step.language === 'typescript') {
    expect(typeErrors.get(step.file) ?? [], `tsc errors in .work/${step.file}`).toEqual([])
  }
  const { command, args, cwd, env } = invocation(readme, step)
  expectSuccess(await runCommand(command, args, { cwd, env }), what)
}

/** Starts a server step, waits until it is ready, runs its clients, stops it with SIGINT: it must exit 0. */
async function runServer(readme, step) {
  if (step.language === 'typescript') {
    expect(typeErrors.get(step.file) ?? [], `tsc errors in .work/${step.file}`).toEqual([])
  }
  const { command, args, cwd, env } = invocation(readme, step)
  const server = startCommand(command, args, { cwd, env })
  try {
    await server.ready(step.action.ready, READY_MS)
  } catch (error) {
    await server.stop(STOP_MS)
    expect.fail(
      `the block ${error.message} (its output never matched ${step.action.ready})\n${report(error)}`,
    )
  }
  try {
    for (const client of step.clients) await runStep(readme, client, `the block at line ${client.block.line}`)
  } finally {
    const end = await server.stop(STOP_MS)
    if (end.timedOut)
      expect.fail(`the block did not stop within ${STOP_MS / 1000} s of SIGINT\n${report(end)}`)
    if (end.code !== 0)
      expect.fail(`the block exited with ${end.code ?? end.signal} on SIGINT\n${report(end)}`)
  }
}

function report(result) {
  return `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
}

for (const { readme, steps } of plans) {
  describe(readme, () => {
    for (const step of steps) {
      const { block, language, action } = step
      const name = `line ${block.line} (${block.lang || 'no language'})`
      if (action.kind === 'text' || action.kind === 'client') continue
      if (action.kind === 'invalid') {
        it(`${name}: has a valid marker`, () => expect.fail(action.problem))
        continue
      }
      if (action.kind === 'skip') {
        it.skip(`${name}: not run — ${action.reason}`, () => {})
        continue
      }
      if (noPostgres !== undefined && needsPostgres(step.code ?? '')) {
        it.skip(`${name}: not run — ${noPostgres}`, () => {})
        continue
      }
      if (language === undefined) {
        it(`${name}: names a language the checker knows`, () =>
          expect.fail(
            `a block needs a language (${Object.keys(LANGUAGES).join(', ')}); mark output as \`text\`, or mark the block <!-- example: not run — why -->`,
          ))
        continue
      }
      if (language === 'json') {
        it(`${name}: is valid JSON`, () => JSON.parse(step.code))
      } else if (language === 'jsonc') {
        it(`${name}: is valid JSON with comments`, () =>
          expect(parseJsonValues(step.code).length).toBeGreaterThan(0))
      } else if (action.kind === 'server') {
        const clients = step.clients.map((client) => client.block.line)
        const beside =
          clients.length === 0 ? '' : `, with the block(s) at line ${clients.join(', ')} while it runs`
        it(`${name}: runs until stopped${beside}, then stops cleanly on SIGINT`, () =>
          runServer(readme, step))
      } else if (language === 'typescript') {
        it(`${name}: type-checks and runs`, () => runStep(readme, step, `.work/${step.file}`))
      } else if (language === 'shell') {
        it(`${name}: runs with set -e`, () => runStep(readme, step, 'the block'))
      }
    }
  })
}
