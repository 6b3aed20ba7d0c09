// Which Node.js versions agent-comm runs on. better-sqlite3 13 needs Node 22.19 or newer: on an older Node
// its native module loads and then crashes the process with a segmentation fault, with no message, the
// first time a database is opened. Every executable checks the version with this module first, before it
// imports anything native; it imports nothing itself, so it runs on any Node.

/** The oldest Node.js version agent-comm supports. */
export const MINIMUM_NODE_VERSION = '22.19.0'

/** `[major, minor, patch]` of a version such as `20.11.1` or `v22.19.0`; missing parts count as 0. */
function parts(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split('.')
    .slice(0, 3)
    .map((part) => Number.parseInt(part, 10) || 0)
}

/**
 * What to tell the user when `version` (e.g. `process.versions.node`) is older than
 * {@link MINIMUM_NODE_VERSION}, or undefined when it is supported. `program` names the executable.
 */
export function unsupportedNodeMessage(version: string, program: string): string | undefined {
  const have = parts(version)
  const need = parts(MINIMUM_NODE_VERSION)
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return undefined
    if (have[i]! < need[i]!) {
      return `${program} needs Node.js ${MINIMUM_NODE_VERSION} or newer (its SQLite driver, better-sqlite3, crashes on older versions); this is Node.js ${version.replace(/^v/, '')}.\nInstall Node.js 24 (or 22.19+): https://nodejs.org/en/download, or with nvm: nvm install 24\n`
    }
  }
  return undefined
}
