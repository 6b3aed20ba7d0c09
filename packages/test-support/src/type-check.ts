// Compiles a consumer fixture the way an app that installed the packages would: against their built
// declarations, under the fixture's own tsconfig (e.g. exactOptionalPropertyTypes, which the repo itself
// leaves off but a consumer's project may turn on).
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * Runs `tsc -p fixtureDir` with the TypeScript the fixture's package resolves, and resolves with its
 * diagnostics: `''` when the fixture compiles. The fixture's files import the packages by name, so they
 * are checked as published (build the packages first).
 */
export function typeCheckFixture(fixtureDir: string): Promise<string> {
  const require = createRequire(join(fixtureDir, 'tsconfig.json'))
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', fixtureDir, '--pretty', 'false'],
      { cwd: fixtureDir },
      (error, stdout, stderr) => {
        // tsc exits 1 or 2 when it reports diagnostics: those are the answer, not a failure to run it.
        if (error !== null && typeof error.code !== 'number') return reject(error)
        resolve(`${stdout}${stderr}`.trim())
      },
    )
  })
}
