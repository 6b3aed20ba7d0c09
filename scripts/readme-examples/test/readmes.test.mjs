// Every fenced code block of every README, checked as printed: TypeScript type-checked and run, shell run
// with `set -e` and the workspace's bins on PATH, JSON parsed. A block that cannot run on one machine as
// printed carries a visible marker in the README saying why (see ../blocks.mjs); an unmarked block that the
// checker cannot run fails.
//
// Where blocks run: each TypeScript block (with the blocks marked as its continuation) as its own file in
// ../.work, from a fresh temporary folder. A README's shell blocks run one after another in one fresh folder
// per README, so a later block sees what an earlier one registered, as for a reader working down the page;
// shell variables do not carry from one block to the next. The root README documents commands run from the
// checkout, so its shell blocks run in the repository root, with AGENT_COMM_DB_PATH set to a fresh file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeBlocks, decision, LANGUAGES, parseJsonValues } from '../blocks.mjs'
import { exampleEnv, packageOf, prepareWork, readmes, root, runCommand } from '../workspace.mjs'

const work = new URL('../.work', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'agent-comm-readme-examples-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

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
    if (action.kind === 'run' || action.kind === 'continue') lastOfLanguage.set(language, code)
    const file = `${readme.replace(/\/?README\.md$/, '').replaceAll('/', '-') || 'root'}-line-${block.line}.ts`
    return { block, language, action, code, file }
  })
  return { readme, steps }
})

const toRun = (step) => step.action.kind === 'run' || step.action.kind === 'continue'
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
  const output = `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
  if (result.timedOut) expect.fail(`${what} did not finish in time (does it wait for Ctrl-C?)\n${output}`)
  if (result.code !== 0) expect.fail(`${what} exited with ${result.code ?? result.signal}\n${output}`)
}

for (const { readme, steps } of plans) {
  describe(readme, () => {
    const session = join(scratch, readme.replaceAll('/', '-'))
    for (const step of steps) {
      const { block, language, action } = step
      const name = `line ${block.line} (${block.lang || 'no language'})`
      if (action.kind === 'text') continue
      if (action.kind === 'invalid') {
        it(`${name}: has a valid marker`, () => expect.fail(action.problem))
        continue
      }
      if (action.kind === 'skip') {
        it.skip(`${name}: not run — ${action.reason}`, () => {})
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
      } else if (language === 'typescript') {
        it(`${name}: type-checks and runs`, async () => {
          expect(typeErrors.get(step.file) ?? [], `tsc errors in .work/${step.file}`).toEqual([])
          // A fresh folder whose node_modules is the work folder's, so `npx agent-comm-mcp` finds the bin there.
          const cwd = mkdtempSync(join(scratch, 'ts-'))
          symlinkSync(join(work, 'node_modules'), join(cwd, 'node_modules'))
          const result = await runCommand(process.execPath, [join(work, step.file)], {
            cwd,
            env: exampleEnv(bin, { HOME: cwd }),
          })
          expectSuccess(result, `.work/${step.file}`)
        })
      } else if (language === 'shell') {
        it(`${name}: runs with set -e`, async () => {
          mkdirSync(session, { recursive: true })
          const fromCheckout = readme === 'README.md'
          const env = exampleEnv(
            bin,
            // HOME too: nothing a block writes under ~ lands in the real one.
            {
              HOME: session,
              ...(fromCheckout ? { AGENT_COMM_DB_PATH: join(session, 'data', 'coordination.db') } : {}),
            },
          )
          const result = await runCommand('bash', ['-e', '-c', step.code], {
            cwd: fromCheckout ? root : session,
            env,
          })
          expectSuccess(result, `the block`)
        })
      }
    }
  })
}
