// Sums the vitest JSON report of every suite — each workspace package with a `test` script, and the suites
// under scripts/ — into one closing line: "N passed, N failed". A suite that should have a report and has
// none (its run crashed before vitest wrote one, or never started) counts as a failure, as does a report
// whose run failed without a failing test (a test file that did not load, an unhandled error): a summary
// that skipped them would say "0 failed" over a broken run.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The suites outside the workspace (scripts/ holds no workspace package, so turbo does not run them). */
export const SCRIPT_SUITES = ['scripts/verify-packages', 'scripts/readme-examples', 'scripts/test-run']

/** Where a suite's vitest JSON report is written (each vitest config sets `outputFile.json` to it). */
export const reportPath = (folder) => join(folder, '.vitest', 'report.json')

/** Every folder under `root` whose tests the root `test` script runs, and so should hold a report. */
export function suiteFolders(root) {
  const folders = SCRIPT_SUITES.map((suite) => join(root, suite)).filter((folder) => existsSync(folder))
  for (const group of ['packages', 'apps']) {
    const dir = join(root, group)
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir).sort()) {
      const manifest = join(dir, name, 'package.json')
      if (!existsSync(manifest)) continue
      if (JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test !== undefined)
        folders.push(join(dir, name))
    }
  }
  return folders
}

/**
 * Adds up the reports of `folders`. Returns the counts and, for each suite whose run failed in a way its
 * counts do not show, a line saying so (each also counted as one failed test).
 */
export function summarize(root, folders) {
  let passed = 0
  let failed = 0
  let skipped = 0
  const problems = []
  const skippedTests = []
  for (const folder of folders) {
    const name = relative(root, folder)
    const report = reportPath(folder)
    if (!existsSync(report)) {
      failed++
      problems.push(`${name}: no test report — its run crashed or never started (see its output above)`)
      continue
    }
    let json
    try {
      json = JSON.parse(readFileSync(report, 'utf8'))
    } catch (error) {
      failed++
      problems.push(`${name}: unreadable test report ${relative(root, report)}: ${error.message}`)
      continue
    }
    passed += json.numPassedTests ?? 0
    failed += json.numFailedTests ?? 0
    skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0)
    for (const file of json.testResults ?? []) {
      for (const test of file.assertionResults ?? []) {
        if (test.status === 'passed' || test.status === 'failed') continue
        skippedTests.push({ suite: name, name: test.fullName ?? test.title ?? '(unnamed)' })
      }
    }
    if ((json.numFailedTests ?? 0) === 0 && (json.success === false || (json.numFailedTestSuites ?? 0) > 0)) {
      failed++
      problems.push(`${name}: the run failed outside any test (a file that did not load, an unhandled error)`)
    }
  }
  return { passed, failed, skipped, problems, skippedTests }
}

/**
 * Lines naming every skipped test by suite, so a run on a machine without some service (no PostgreSQL
 * server, say) says what it did not run; the test names carry the reason (e.g. "… (needs a PostgreSQL
 * server)").
 */
export function skippedLines({ skippedTests }) {
  const bySuite = new Map()
  for (const { suite, name } of skippedTests) bySuite.set(suite, [...(bySuite.get(suite) ?? []), name])
  const lines = []
  for (const [suite, names] of bySuite) {
    lines.push(`skipped in ${suite} (${names.length}):`)
    for (const name of names) lines.push(`  - ${name}`)
  }
  return lines
}

/** The closing line: "N passed, N failed" (and ", N skipped" when some were). */
export const summaryLine = ({ passed, failed, skipped }) =>
  `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = new URL('../..', import.meta.url).pathname
  const summary = summarize(root, suiteFolders(root))
  for (const line of skippedLines(summary)) process.stdout.write(`${line}\n`)
  for (const problem of summary.problems) process.stdout.write(`test-summary: ${problem}\n`)
  process.stdout.write(`${summaryLine(summary)}\n`)
  process.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0)
}
