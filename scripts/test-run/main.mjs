// The root `test` script: every workspace package's tests through turbo, then the suites under scripts/,
// then one closing "N passed, N failed" line. A failing package does not stop the others (turbo
// --continue), so the line always counts the whole run; the exit code is non-zero if anything failed.
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { relative } from 'node:path'
import { reportPath, SCRIPT_SUITES, skippedLines, suiteFolders, summarize, summaryLine } from './summary.mjs'

const root = new URL('../..', import.meta.url).pathname
const folders = suiteFolders(root)
// A report left by an earlier run must not stand in for one this run failed to write. (turbo restores the
// report of a package whose tests it replays from cache.)
for (const folder of folders) rmSync(reportPath(folder), { force: true })

const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status === 0
let ok = run('turbo', ['run', 'test', '--continue'])
for (const suite of SCRIPT_SUITES) {
  if (folders.some((folder) => relative(root, folder) === suite))
    ok = run('vitest', ['run', '--root', suite]) && ok
}
const summary = summarize(root, folders)
for (const line of skippedLines(summary)) process.stdout.write(`${line}\n`)
for (const problem of summary.problems) process.stdout.write(`test-summary: ${problem}\n`)
process.stdout.write(`\n${summaryLine(summary)}\n`)
process.exit(ok && summary.failed === 0 && summary.passed > 0 ? 0 : 1)
