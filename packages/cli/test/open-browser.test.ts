import { describe, expect, it } from 'vitest'
import { browserCommand, openBrowser } from '../src/open-browser.js'

function recorder() {
  const calls: { command: string; args: readonly string[]; unref: boolean }[] = []
  const spawn = (command: string, args: readonly string[]) => {
    const call = { command, args, unref: false }
    calls.push(call)
    return {
      on: () => undefined,
      unref: () => {
        call.unref = true
      },
    }
  }
  return { calls, spawn }
}

describe('openBrowser', () => {
  it("runs the platform's launcher with the URL, detached", () => {
    const { calls, spawn } = recorder()
    openBrowser('http://127.0.0.1:8421/console/#token=abc', { platform: 'linux', spawn })
    openBrowser('http://127.0.0.1:8421/console/#token=def', { platform: 'darwin', spawn })
    expect(calls).toEqual([
      { command: 'xdg-open', args: ['http://127.0.0.1:8421/console/#token=abc'], unref: true },
      { command: 'open', args: ['http://127.0.0.1:8421/console/#token=def'], unref: true },
    ])
    expect(browserCommand('win32')).toBe('explorer.exe')
  })

  it('runs $BROWSER instead when it is set', () => {
    const { calls, spawn } = recorder()
    openBrowser('http://127.0.0.1:1/console/', { platform: 'linux', browser: '/usr/bin/firefox', spawn })
    expect(calls.map((c) => [c.command, c.args])).toEqual([
      ['/usr/bin/firefox', ['http://127.0.0.1:1/console/']],
    ])
    expect(browserCommand('linux', '  ')).toBe('xdg-open')
  })

  it('says nothing when there is no launcher: the printed URL is the way in', () => {
    expect(() =>
      openBrowser('http://127.0.0.1:1/', {
        spawn: () => {
          throw new Error('spawn EACCES')
        },
      }),
    ).not.toThrow()
  })
})
