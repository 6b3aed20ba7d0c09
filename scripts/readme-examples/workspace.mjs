// The places README examples run: a work folder inside the workspace whose node_modules links every
// workspace package (so `@agent-comm/*` imports resolve to the built packages) and the third-party packages
// the examples import, with the workspace's bins (agent-comm, agent-comm-mcp, agent-comm-relay) in .bin.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/** The repository root. */
export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')

/** Every README whose examples are checked, relative to the root: the root's, then each package's. */
export function readmes() {
  const found = ['README.md']
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      if (existsSync(join(root, group, name, 'README.md'))) found.push(`${group}/${name}/README.md`)
    }
  }
  return found
}

/** The workspace packages: name, folder and bins. */
function workspacePackages() {
  const out = []
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, 'package.json')
      if (!existsSync(manifest)) continue
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
      const bin = typeof pkg.bin === 'string' ? { [pkg.name.split('/').pop()]: pkg.bin } : (pkg.bin ?? {})
      out.push({ name: pkg.name, dir: join(root, group, name), bin })
    }
  }
  return out
}

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`), or undefined for node:. */
export function packageOf(specifier) {
  if (specifier.startsWith('node:') || specifier.startsWith('.')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * Builds the work folder `work`: package.json (ES modules), a strict tsconfig like the packages', and
 * node_modules linking the workspace packages, `thirdParty` packages (found in the workspace packages'
 * own node_modules) and the workspace bins. Returns the .bin folder to put on PATH.
 */
export function prepareWork(work, thirdParty) {
  rmSync(work, { recursive: true, force: true })
  const modules = join(work, 'node_modules')
  const bin = join(modules, '.bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(work, 'package.json'), `${JSON.stringify({ type: 'module', private: true })}\n`)
  const compilerOptions = {
    target: 'ES2023',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    erasableSyntaxOnly: true,
    skipLibCheck: true,
    noEmit: true,
  }
  writeFileSync(
    join(work, 'tsconfig.json'),
    `${JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2)}\n`,
  )
  const packages = workspacePackages()
  for (const pkg of packages) {
    link(pkg.dir, join(modules, pkg.name))
    for (const [name, path] of Object.entries(pkg.bin)) {
      const target = join(pkg.dir, path)
      writeFileSync(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`, {
        mode: 0o755,
      })
    }
  }
  for (const name of thirdParty) {
    if (packages.some((pkg) => pkg.name === name)) continue
    const from = packages.map((pkg) => join(pkg.dir, 'node_modules', name)).find((dir) => existsSync(dir))
    if (from === undefined)
      throw new Error(`no workspace package depends on '${name}', which a README imports`)
    link(from, join(modules, name))
  }
  return bin
}

function link(target, path) {
  mkdirSync(dirname(path), { recursive: true })
  symlinkSync(relative(dirname(path), target), path)
}

/** The environment examples run in: this one without AGENT_COMM_* settings, with `bin` first on PATH. */
export function exampleEnv(bin, extra = {}) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AGENT_COMM_')),
  )
  return { ...env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1', ...extra }
}

/**
 * Runs `command args` to its end; resolves with its exit code (or signal) and output. Killed after
 * `timeoutMs` — generous, for a loaded machine — so a block that waits forever fails instead of hanging.
 */
export function runCommand(command, args, { cwd, env, timeoutMs = 180_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      // The whole process group: a block's servers and children go with it.
      process.kill(-child.pid, 'SIGKILL')
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

/**
 * Starts `command args` in the background in its own process group, for a block that runs until stopped.
 * `ready(pattern, timeoutMs)` resolves once a line of its output (stdout or stderr) matches, and rejects
 * when it exits first or does not match in time; `stop(timeoutMs)` sends SIGINT, as Ctrl-C does, to the
 * whole group and resolves with how it ended (SIGKILL after `timeoutMs`, reported as `timedOut`).
 */
export function startCommand(command, args, { cwd, env }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const out = { stdout: '', stderr: '' }
  const listeners = new Set()
  const notify = () => {
    for (const listener of listeners) listener()
  }
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    out.stdout += chunk
    notify()
  })
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    out.stderr += chunk
    notify()
  })
  const exited = new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }))
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  let ended
  exited.then((end) => {
    ended = end
    notify()
  })
  const kill = (signal) => {
    try {
      process.kill(-child.pid, signal)
    } catch (error) {
      if (error.code !== 'ESRCH') throw error
    }
  }
  const result = (end, extra = {}) => ({ ...end, stdout: out.stdout, stderr: out.stderr, ...extra })
  return {
    output: () => ({ ...out }),
    ready(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(`${out.stdout}\n${out.stderr}`)) finish(resolve)
          else if (ended !== undefined)
            finish(() => reject(Object.assign(new Error('exited before it was ready'), result(ended))))
        }
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(Object.assign(new Error('not ready in time'), result({}, { timedOut: true }))),
            ),
          timeoutMs,
        )
        const finish = (settle) => {
          clearTimeout(timer)
          listeners.delete(check)
          settle()
        }
        listeners.add(check)
        check()
      })
    },
    async stop(timeoutMs) {
      if (ended === undefined) kill('SIGINT')
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        kill('SIGKILL')
      }, timeoutMs)
      const end = await exited
      clearTimeout(timer)
      return result(end, { timedOut })
    },
  }
}
