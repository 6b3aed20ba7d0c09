// Scratch apps outside the workspace: a folder with a package.json, the package installed from its tarball
// by plain npm (the other @agent-comm packages it needs come from their tarballs too, through `overrides`:
// none is on the registry yet), and its example type-checked and run as a user would.
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { run } from './processes.mjs'

/** The bytes of every file under `dir` (symlinks counted as links, not followed). */
function bytesUnder(dir) {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? bytesUnder(path) : lstatSync(path).size
  }
  return total
}

/** The environment for npm: quiet, no audit or funding calls, the registry cache before the network. */
export function npmEnvironment(base) {
  return {
    ...base,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_prefer_offline: 'true',
    npm_config_loglevel: 'error',
    npm_config_package_lock: 'true',
  }
}

/**
 * Creates `<root>/apps/<folder>` with `install` as its dependencies and runs `npm install` there. Returns the
 * app folder and what landed in node_modules: the installed package names, their count and size in bytes.
 */
export async function installApp({ root, folder, install, tarballs, ranges, env }) {
  const app = join(root, 'apps', folder)
  mkdirSync(app, { recursive: true })
  const spec = (name) => (tarballs.has(name) ? `file:${tarballs.get(name)}` : ranges[name])
  const manifest = {
    name: `scratch-${folder}`,
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(install.map((name) => [name, spec(name)])),
    overrides: Object.fromEntries([...tarballs.keys()].map((name) => [name, spec(name)])),
  }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  // At warning level: a peer range the install cannot meet is only an npm warning (`ERESOLVE overriding
  // peer dependency`), which a user sees on every install and which means two packages disagree.
  const { stderr } = await run('npm', ['install'], {
    cwd: app,
    env: { ...npmEnvironment(env), npm_config_loglevel: 'warn' },
    timeoutMs: 600_000,
  })
  const peerWarnings = stderr.split('\n').filter((line) => /ERESOLVE|peer dep/i.test(line))
  if (peerWarnings.length > 0) {
    throw new Error(`npm install warned about peer dependencies:\n${stderr.trim()}`)
  }
  const lock = JSON.parse(readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8'))
  const names = Object.keys(lock.packages)
    .filter((path) => path.startsWith('node_modules/'))
    .map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
  return { app, names: new Set(names), count: names.length, bytes: bytesUnder(join(app, 'node_modules')) }
}

/**
 * Copies `example` into the app, type-checks and compiles it with tsc as a strict ESM project against the
 * installed declarations (ours checked in full, third-party ones' own errors ignored), then runs the
 * compiled module. Resolves its stdout.
 */
export async function runExample({ app, example, workspaceRoot, env }) {
  const src = join(app, 'src')
  mkdirSync(src, { recursive: true })
  copyFileSync(example, join(src, basename(example)))
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      // Every declaration file is checked (no skipLibCheck), but only errors in the example and in ours
      // fail the run: drizzle-orm's own declarations do not pass a full check.
      skipLibCheck: false,
      // Node's types from the workspace: the app itself installs only the packages under test.
      typeRoots: [join(workspaceRoot, 'node_modules', '@types')],
      types: ['node'],
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  }
  writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`)
  const tsc = join(workspaceRoot, 'node_modules', 'typescript', 'bin', 'tsc')
  const checked = await run(process.execPath, [tsc, '-p', app, '--pretty', 'false'], {
    cwd: app,
    env,
    allowFailure: true,
  })
  const ours = checked.stdout
    .split('\n')
    .filter(
      (line) =>
        /error TS\d+/.test(line) &&
        (!line.includes('node_modules/') || line.includes('node_modules/@agent-comm/')),
    )
  if (ours.length > 0) throw new Error(`${basename(example)} does not type-check:\n${ours.join('\n')}`)
  const compiled = join(app, 'dist', basename(example).replace(/\.ts$/, '.js'))
  const { stdout, stderr } = await run(process.execPath, [compiled], { cwd: app, env, timeoutMs: 60_000 })
  if (stderr !== '') throw new Error(`${basename(example)} wrote to stderr:\n${stderr}`)
  return stdout
}
