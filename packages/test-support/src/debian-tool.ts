import { spawnSync } from 'node:child_process'

/**
 * The path of a system tool a test drives (`nginx`, `pgbouncer`), installed from Debian's packages when
 * it is missing and this process may (root); undefined when it is not there. Under `CI=true` a missing
 * tool throws instead: CI runs every test, it never skips one for want of a package.
 */
export function debianTool(name: 'nginx' | 'pgbouncer', env = process.env): string | undefined {
  const which = () =>
    spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], {
      encoding: 'utf8',
    })
      .stdout.trim()
      .split('\n')[0] || undefined
  let found = which()
  if (found === undefined && process.getuid?.() === 0) {
    const install = `apt-get install -y -qq ${name} || (apt-get update -qq && apt-get install -y -qq ${name})`
    spawnSync('sh', ['-c', install], { stdio: 'ignore' })
    found = which()
  }
  if (found === undefined && env.CI === 'true')
    throw new Error(`${name} is missing and could not be installed`)
  return found
}
