import { readFile } from 'node:fs/promises'
import { debugEnabled } from './context.js'
import { ExitCode } from './errors.js'

/**
 * The whole of stdin as UTF-8 text, without one trailing newline (as `$(…)` would strip). It waits for the
 * end of input however slow the producer is; with AGENT_COMM_LOG_LEVEL=debug it says so on stderr first,
 * so a command waiting on a producer that never closes its end is not a mystery.
 */
export async function readStdin(): Promise<string> {
  if (debugEnabled()) process.stderr.write('[debug] reading stdin until it is closed\n')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return withoutFinalNewline(Buffer.concat(chunks).toString('utf8'))
}

/**
 * The text of `path` (`-`: stdin) for a `--body-file` flag, without one trailing newline, as stdin and
 * `$(cat file)` give it. A file that cannot be read is a usage error (exit 2) naming the flag and why.
 */
export async function readTextInput(path: string, flag: string): Promise<string> {
  if (path === '-') return readStdin()
  try {
    return withoutFinalNewline(await readFile(path, 'utf8'))
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : message
    // Loaded here, not at the top: `send`'s fast path (send-fast-path.ts) reads files without oclif.
    const { Errors } = await (await import('./oclif-bundle.js')).loadOclif()
    throw new Errors.CLIError(`cannot read ${flag} ${path}: ${why}`, { exit: ExitCode.USAGE })
  }
}

function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '')
}
