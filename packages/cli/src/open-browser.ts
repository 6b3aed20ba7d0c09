import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process'

/** What {@link openBrowser} uses, injectable for tests. */
export interface OpenBrowserDeps {
  /** The platform's launcher is chosen from this (`process.platform`). */
  platform?: NodeJS.Platform
  /**
   * A browser command to run instead of the platform's launcher (the CLI passes `$BROWSER`, as Python's
   * webbrowser and Jupyter honour it). Run without a shell, with the URL as its one argument.
   */
  browser?: string | undefined
  spawn?: (
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ) => { on(event: 'error', listener: (error: Error) => void): unknown; unref(): void }
}

/** The command that opens a URL on `platform`, or `browser` when one is given. */
export function browserCommand(platform: NodeJS.Platform, browser?: string): string {
  if (browser !== undefined && browser.trim() !== '') return browser.trim()
  return platform === 'darwin' ? 'open' : platform === 'win32' ? 'explorer.exe' : 'xdg-open'
}

/**
 * Opens `url` in the desktop's browser when there is one, detached from this process. A machine without a
 * launcher (a server) is not an error: the printed URL is the way in, so a failure to start is ignored.
 */
export function openBrowser(url: string, deps: OpenBrowserDeps = {}): void {
  const spawn = deps.spawn ?? nodeSpawn
  const command = browserCommand(deps.platform ?? process.platform, deps.browser)
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true })
    // No launcher installed: spawn reports ENOENT here, after the URL was printed.
    child.on('error', () => undefined)
    child.unref()
  } catch {
    // spawn itself refused (e.g. EACCES on a command named in $BROWSER): the printed URL is the way in.
  }
}
