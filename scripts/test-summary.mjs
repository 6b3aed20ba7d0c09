// Sums every package's vitest JSON report, and that of the packaging check's own tests, into one closing
// line: "N passed, N failed".
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const folders = [join(root, 'scripts', 'verify-packages')]
for (const group of ['packages', 'apps']) {
  const dir = join(root, group)
  if (existsSync(dir)) folders.push(...readdirSync(dir).map((name) => join(dir, name)))
}
let passed = 0
let failed = 0
let skipped = 0
for (const folder of folders) {
  const report = join(folder, '.vitest', 'report.json')
  if (!existsSync(report)) continue
  const json = JSON.parse(readFileSync(report, 'utf8'))
  passed += json.numPassedTests
  failed += json.numFailedTests
  skipped += json.numPendingTests + json.numTodoTests
}
if (passed + failed === 0) {
  process.stderr.write('test-summary: no test reports found\n')
  process.exit(1)
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`)
process.exit(failed > 0 ? 1 : 0)
