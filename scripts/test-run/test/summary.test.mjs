import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { reportPath, skippedLines, suiteFolders, summarize, summaryLine } from '../summary.mjs'

let root
afterEach(() => rmSync(root, { recursive: true, force: true }))

/** A workspace with packages `names` (each with a test script) and nothing else. */
function workspace(names) {
  root = mkdtempSync(join(tmpdir(), 'agent-comm-summary-test-'))
  for (const name of names) {
    mkdirSync(join(root, 'packages', name), { recursive: true })
    writeFileSync(
      join(root, 'packages', name, 'package.json'),
      JSON.stringify({ scripts: { test: 'vitest run' } }),
    )
  }
  return root
}

function writeReport(name, counts) {
  const path = reportPath(join(root, 'packages', name))
  mkdirSync(join(path, '..'), { recursive: true })
  const report = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, success: true }
  writeFileSync(path, JSON.stringify({ ...report, ...counts }))
}

describe('the closing test summary', () => {
  it('adds up the reports of every package', () => {
    workspace(['a', 'b'])
    writeReport('a', { numPassedTests: 3 })
    writeReport('b', { numPassedTests: 2, numFailedTests: 1, numPendingTests: 1, success: false })
    const summary = summarize(root, suiteFolders(root))
    expect(summaryLine(summary)).toBe('5 passed, 1 failed, 1 skipped')
  })

  it('counts a package whose run crashed before writing a report as a failure, and names it', () => {
    workspace(['a', 'crashed'])
    writeReport('a', { numPassedTests: 3 })
    const summary = summarize(root, suiteFolders(root))
    expect(summaryLine(summary)).toBe('3 passed, 1 failed')
    expect(summary.problems).toEqual([expect.stringContaining('packages/crashed: no test report')])
  })

  it('counts a run that failed outside any test (a file that did not load) as a failure', () => {
    workspace(['a'])
    writeReport('a', { numPassedTests: 3, numFailedTestSuites: 1, success: false })
    const summary = summarize(root, suiteFolders(root))
    expect(summaryLine(summary)).toBe('3 passed, 1 failed')
    expect(summary.problems).toEqual([expect.stringContaining('packages/a: the run failed outside any test')])
  })

  it('expects no report from a package without a test script', () => {
    workspace(['a'])
    mkdirSync(join(root, 'packages', 'contract'))
    writeFileSync(join(root, 'packages', 'contract', 'package.json'), JSON.stringify({ scripts: {} }))
    writeReport('a', { numPassedTests: 1 })
    expect(summaryLine(summarize(root, suiteFolders(root)))).toBe('1 passed, 0 failed')
  })

  it('names every skipped test by suite, so a run says what it did not run', () => {
    workspace(['a', 'b'])
    writeReport('a', { numPassedTests: 1 })
    writeReport('b', {
      numPassedTests: 1,
      numPendingTests: 2,
      testResults: [
        {
          assertionResults: [
            { status: 'passed', fullName: 'runs' },
            { status: 'skipped', fullName: 'restarts PostgreSQL mid-load (needs a PostgreSQL server)' },
            { status: 'pending', fullName: 'wakes across processes (needs a PostgreSQL server)' },
          ],
        },
      ],
    })
    const summary = summarize(root, suiteFolders(root))
    expect(summaryLine(summary)).toBe('2 passed, 0 failed, 2 skipped')
    expect(skippedLines(summary)).toEqual([
      'skipped in packages/b (2):',
      '  - restarts PostgreSQL mid-load (needs a PostgreSQL server)',
      '  - wakes across processes (needs a PostgreSQL server)',
    ])
  })
})
