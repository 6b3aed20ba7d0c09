import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { onCleanup, tempDir } from './helpers.js'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href

describe('the relay start-up', () => {
  it('serves a SQLite relay without loading the PostgreSQL package, drizzle-orm or pg', async () => {
    const dir = tempDir()
    const record = join(dir, 'modules.txt')
    const child = spawn(
      process.execPath,
      [BIN, '--port', '0', '--data-dir', join(dir, 'relay'), '--log-level', 'info'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
      },
    )
    onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let out = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('"relay listening"')) resolve()
      })
      child.on('exit', (code) => reject(new Error(`the relay exited (${code}) before listening:\n${out}`)))
    })
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
    const files = readFileSync(record, 'utf8')
      .split('\n')
      .filter((url) => url.startsWith('file:'))
      .map((url) => fileURLToPath(url))
    // The recorder saw the run: the relay's own start module.
    expect(files.some((f) => f.endsWith(join('dist', 'start.js')))).toBe(true)
    for (const name of ['drizzle-orm', 'pg', 'pg-protocol']) {
      expect(files.filter((f) => f.includes(`${sep}node_modules${sep}${name}${sep}`))).toEqual([])
    }
    expect(
      files.filter((f) => f.includes(join('packages', 'postgres', 'dist')) && !f.endsWith('secrets-key.js')),
    ).toEqual([])
  })
})
