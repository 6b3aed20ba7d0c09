// A folder made safely on Node (`@agent-comm/protocol/create-folder`, free of zod): the one place the SQLite
// spool and the file transport create the folders their data lives in.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

/** Why {@link createFolder} could not make a folder: the folder it concerns and the system's error. */
export class FolderError extends Error {
  readonly folder: string
  readonly systemCode: string | undefined

  constructor(
    message: string,
    folder: string,
    systemCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.folder = folder
    this.systemCode = systemCode
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Creates `folder` and its missing parents, one level at a time from the nearest existing ancestor, which
 * must be a folder this user may write. Not `mkdirSync(…, { recursive: true })`: under a folder that
 * refuses new entries with ENOENT (anything under /proc), Node's recursive mkdir retries forever, at full
 * CPU and deaf to signals. Throws {@link FolderError} naming the folder at fault. `mode` is given to each
 * folder it creates (less the umask), e.g. 0o700 for a folder of secrets; folders that exist keep theirs.
 */
export function createFolder(folder: string, options: { mode?: number } = {}): void {
  const missing: string[] = []
  let current = folder
  for (;;) {
    const stats = statSync(current, { throwIfNoEntry: false })
    if (stats !== undefined) {
      if (!stats.isDirectory()) {
        throw new FolderError(`${current} is not a folder`, current, 'ENOTDIR')
      }
      break
    }
    missing.unshift(current)
    const parent = dirname(current)
    // The root always exists; reaching it without a stat is a path the system cannot look at.
    if (parent === current) throw new FolderError(`${current} cannot be read`, current, 'ENOENT')
    current = parent
  }
  if (missing.length === 0) return
  try {
    accessSync(current, constants.W_OK | constants.X_OK)
  } catch (error) {
    throw new FolderError(`${current} is not writable by this user`, current, codeOf(error), { cause: error })
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, options.mode === undefined ? undefined : { mode: options.mode })
    } catch (error) {
      // Another process made it meanwhile: fine, as long as it is a folder.
      if (codeOf(error) === 'EEXIST' && statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true) {
        continue
      }
      throw new FolderError(`cannot create ${dir}: ${(error as Error).message}`, dir, codeOf(error), {
        cause: error,
      })
    }
  }
}
