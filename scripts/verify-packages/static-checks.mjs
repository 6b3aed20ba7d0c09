// Checks of a package as packed, before anything is installed: its metadata, the files in its tarball, the
// modules its code and declarations import, and the top of its README. Each returns a list of problems.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { init, parse } from 'es-module-lexer'

const REPOSITORY = 'git+https://github.com/agent-comm/agent-comm.git'
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']

/** Every file under `dir`, as paths relative to it with forward slashes. */
export function listFiles(dir, prefix = '') {
  const files = []
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) files.push(...listFiles(dir, path))
    else files.push(path)
  }
  return files
}

/** `>=22.19` → [22, 19]; other shapes are reported by the metadata check. */
function minimumNode(range) {
  const match = /^>=(\d+)\.(\d+)(?:\.\d+)?$/.exec(range ?? '')
  return match === null ? undefined : [Number(match[1]), Number(match[2])]
}

/** The package name of a bare specifier: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Every target of an `exports` map, flattened. */
function exportTargets(exports) {
  if (typeof exports === 'string') return [exports]
  if (exports === null || typeof exports !== 'object') return []
  return Object.values(exports).flatMap(exportTargets)
}

/**
 * The package.json fields a published package needs. `workspace` is every workspace package by name, so the
 * engines of a package can be compared with those of the packages it depends on.
 */
export function checkMetadata({ dir, pkg }, workspace) {
  const problems = []
  const need = (condition, message) => {
    if (!condition) problems.push(message)
  }
  need(/^@agent-comm\/[a-z0-9-]+$/.test(pkg.name ?? ''), `name '${pkg.name}' is not @agent-comm/<name>`)
  need(
    /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(pkg.version ?? ''),
    `version '${pkg.version}' is not a semver version`,
  )
  need((pkg.description ?? '').length >= 20, 'description is missing or too short')
  need(Array.isArray(pkg.keywords) && pkg.keywords.length >= 3, 'keywords: at least three')
  need(pkg.license === 'MIT', `license is '${pkg.license}', not MIT`)
  need(existsSync(join(dir, 'LICENSE')), 'no LICENSE file')
  need(pkg.type === 'module', "type is not 'module'")
  need(
    pkg.repository?.url === REPOSITORY && pkg.repository?.directory === relative(workspace.root, dir),
    `repository must be { url: '${REPOSITORY}', directory: '${relative(workspace.root, dir)}' }`,
  )
  need(/^https:\/\//.test(pkg.homepage ?? ''), 'homepage is missing')
  need(minimumNode(pkg.engines?.node) !== undefined, `engines.node '${pkg.engines?.node}' is not '>=X.Y'`)
  need(pkg.publishConfig?.access === 'public', 'publishConfig.access is not public')
  need(Array.isArray(pkg.files) && pkg.files.length > 0, 'files is missing')
  need(pkg.exports?.['./package.json'] === './package.json', "exports has no './package.json'")
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target === 'string') {
      need(!target.endsWith('.js'), `exports['${subpath}'] is a script without types`)
    } else {
      const keys = Object.keys(target)
      need(
        keys[0] === 'types' && keys.includes('default'),
        `exports['${subpath}'] needs 'types' first, then 'default'`,
      )
    }
  }
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      const internal = workspace.byName.get(name)
      if (internal === undefined) continue
      need(range.startsWith('workspace:'), `${field}.${name} is '${range}', not a workspace: range`)
      if (field === 'devDependencies') continue
      need(!internal.pkg.private, `${field}.${name}: a published package depends on a private one`)
      const mine = minimumNode(pkg.engines?.node)
      const theirs = minimumNode(internal.pkg.engines?.node)
      need(
        mine === undefined ||
          theirs === undefined ||
          mine[0] > theirs[0] ||
          (mine[0] === theirs[0] && mine[1] >= theirs[1]),
        `engines.node '${pkg.engines?.node}' is looser than that of its dependency ${name} ('${internal.pkg.engines?.node}')`,
      )
    }
  }
  return problems
}

/** The packed package.json and file list: real ranges, no stray files, every entry point present. */
export function checkTarball({ dir, pkg }, plan, unpacked, workspace) {
  const problems = []
  const packed = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'))
  const files = new Set(listFiles(unpacked))
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, range] of Object.entries(packed[field] ?? {})) {
      if (range.includes('workspace:')) problems.push(`packed ${field}.${name} is still '${range}'`)
      const internal = workspace.byName.get(name)
      if (internal !== undefined && field !== 'devDependencies' && range !== `^${internal.pkg.version}`) {
        problems.push(`packed ${field}.${name} is '${range}', not '^${internal.pkg.version}'`)
      }
    }
  }
  for (const name of ['package.json', 'README.md', 'LICENSE']) {
    if (!files.has(name)) problems.push(`${name} is not in the tarball`)
  }
  for (const file of files) {
    if (
      /(^|\/)(\.tsbuildinfo|\.turbo|\.vitest|node_modules|test)(\/|$)/.test(file) ||
      file.endsWith('.test.js') ||
      file.endsWith('.test.ts')
    ) {
      problems.push(`the tarball holds ${file}, which users do not need`)
    }
  }
  // Source maps are for stepping through and jumping to the TypeScript a module was built from: each one
  // shipped needs its sources shipped too, and a source file is shipped only for a map that points at it.
  const mapped = new Set()
  for (const file of files) {
    if (!file.endsWith('.map')) continue
    const map = JSON.parse(readFileSync(join(unpacked, file), 'utf8'))
    for (const source of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source))
      mapped.add(target)
      if (!files.has(target)) problems.push(`${file} points at ${target}, which is not in the tarball`)
    }
  }
  for (const file of files) {
    if (file.startsWith('src/') && !mapped.has(file)) {
      problems.push(`the tarball holds ${file}, which no source map points at`)
    }
  }
  // tsc -b never deletes the output of a removed source file: a published leftover would still be imported
  // by nothing, or by something stale. Every compiled module must have its source.
  for (const file of files) {
    const source = /^dist\/(.*)\.js$/.exec(file)?.[1]
    if (source === undefined || plan.generated?.test(file)) continue
    if (!existsSync(join(dir, 'src', `${source}.ts`))) {
      problems.push(`${file} has no src/${source}.ts: stale build output? (rm -rf dist and build again)`)
    }
  }
  // A bundler's chunk is loaded only by name, from another file of the bundle. One that no shipped file
  // names is a leftover of an earlier build (a cache restored over dist adds files, it deletes none).
  const scripts = [...files].filter((file) => file.endsWith('.js'))
  const texts = new Map(scripts.map((file) => [file, readFileSync(join(unpacked, file), 'utf8')]))
  for (const file of scripts) {
    if (!/\.chunk\.[^/]*\.js$/.test(file)) continue
    const name = posix.basename(file)
    if (!scripts.some((other) => other !== file && texts.get(other).includes(name))) {
      problems.push(`${file} is loaded by no file in the tarball: a chunk left over from an earlier build?`)
    }
  }
  const entries = [
    ...exportTargets(pkg.exports),
    ...(pkg.main === undefined ? [] : [pkg.main]),
    ...(pkg.types === undefined ? [] : [pkg.types]),
    ...Object.values(pkg.bin ?? {}),
  ]
  for (const entry of entries) {
    if (!files.has(entry.replace(/^\.\//, '')))
      problems.push(`${entry} (an entry point) is not in the tarball`)
  }
  for (const bin of Object.values(pkg.bin ?? {})) {
    const path = join(unpacked, bin)
    if (existsSync(path) && !readFileSync(path, 'utf8').startsWith('#!/usr/bin/env node\n')) {
      problems.push(`bin ${bin} does not start with '#!/usr/bin/env node'`)
    }
  }
  return problems
}

/** Where a relative import of `from` lands, if that file is in the tarball. */
function relativeTarget(unpacked, from, specifier, declaration) {
  const target = resolve(dirname(join(unpacked, from)), specifier)
  const candidates = declaration ? [target.replace(/\.js$/, '.d.ts'), `${target}.d.ts`, target] : [target]
  return candidates.find((file) => existsSync(file) && statSync(file).isFile())
}

/** Whether dependency `name` of the package in `dir` has declarations of its own (else users need @types/). */
function shipsTypes(dir, name) {
  const root = join(dir, 'node_modules', name)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  return (
    pkg.types !== undefined ||
    pkg.typings !== undefined ||
    existsSync(join(root, 'index.d.ts')) ||
    JSON.stringify(pkg.exports ?? {}).includes('"types"')
  )
}

/**
 * The modules the packed code imports: a relative import must be a file in the tarball, a bare one a
 * runtime dependency of the package (a devDependency is not installed for users) or a Node built-in.
 * Declarations (.d.ts) may also rely on a dependency's `@types/` package, and must when the dependency
 * ships no types: with it only a devDependency, users would get `any` (or, without skipLibCheck, errors).
 */
export async function checkImports({ dir, pkg }, unpacked) {
  await init
  const problems = []
  const declared = new Set([
    pkg.name,
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ])
  for (const file of listFiles(unpacked)) {
    const declaration = file.endsWith('.d.ts')
    if (!declaration && !/\.m?js$/.test(file)) continue
    const source = readFileSync(join(unpacked, file), 'utf8')
    const specifiers = declaration
      ? [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1])
      : parse(source)[0]
          .map((entry) => entry.n)
          .filter((n) => n !== undefined)
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        if (relativeTarget(unpacked, file, specifier, declaration) === undefined) {
          problems.push(`${file} imports ${specifier}, which is not in the tarball`)
        }
        continue
      }
      if (isBuiltin(specifier)) continue
      const name = packageName(specifier)
      const typesPackage = `@types/${name.replace(/^@(.*)\//, '$1__')}`
      if (declaration && declared.has(typesPackage)) continue
      if (declared.has(name)) {
        if (declaration && !shipsTypes(dir, name)) {
          problems.push(
            `${file} imports ${specifier}, which ships no types: ${typesPackage} must be a dependency`,
          )
        }
        continue
      }
      const dev = pkg.devDependencies?.[name] === undefined ? '' : ' (it is only a devDependency)'
      problems.push(`${file} imports ${specifier}, but ${name} is not a dependency${dev}`)
    }
  }
  return problems
}

/** The fenced code blocks of a markdown text, in order: `{ lang, code }`. */
export function codeBlocks(markdown) {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], code: m[2] }))
}

/**
 * The top of the README: the title, then an install block naming what the example needs, and the example
 * file itself as the first TypeScript block (the CLI: the Quick Test's commands, as its test script runs them).
 */
export function checkReadme({ dir, pkg }, plan) {
  const problems = []
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')
  if (!readme.startsWith(`# ${pkg.name}\n`)) problems.push(`README.md does not start with '# ${pkg.name}'`)
  const blocks = codeBlocks(readme)
  const install = blocks[0]
  if (install?.lang !== 'sh' || !/^npm install /m.test(install.code)) {
    problems.push('README.md: the first code block is not an `npm install` line')
  } else {
    const lines = install.code.split('\n').filter((l) => l.startsWith('npm install '))
    if (!lines.some((line) => plan.install.every((name) => line.split(/\s+/).includes(name)))) {
      problems.push(`README.md: no install line installs ${plan.install.join(' ')}`)
    }
  }
  if (plan.example !== undefined) {
    const example = readFileSync(join(dir, plan.example), 'utf8')
    const shown = blocks.find((block) => block.lang === 'ts')
    if (shown?.code !== example) {
      problems.push(`README.md: the first ts block is not ${plan.example} as it is (copy the file into it)`)
    }
  }
  if (plan.quickTest !== undefined) {
    const script = readFileSync(join(dir, plan.quickTest), 'utf8')
    const commands = blocks[1]?.code.split('\n').filter((l) => /^(id=\$\()?agent-comm /.test(l)) ?? []
    if (commands.length === 0) problems.push('README.md: the second code block has no agent-comm commands')
    for (const command of commands) {
      if (!script.includes(command)) problems.push(`README.md: '${command}' is not run by ${plan.quickTest}`)
    }
  }
  return problems
}

/** The packages a changeset file releases, from its front matter. */
function releasedBy(text) {
  const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? ''
  return [...front.matchAll(/^["']?(@?[\w/.-]+)["']?\s*:\s*(major|minor|patch)\s*$/gm)].map((m) => m[1])
}

/**
 * A package that bundles public siblings (the CLI's esbuild bundle holds its devDependencies on them and
 * everything below) must be released whenever they are, or it keeps shipping their old code: changesets
 * only bumps dependants through `dependencies`. Checks the pending changesets as one release.
 */
export function checkChangesets(changesetDir, workspace) {
  const released = new Set(
    readdirSync(changesetDir)
      .filter((file) => file.endsWith('.md') && file !== 'README.md')
      .flatMap((file) => releasedBy(readFileSync(join(changesetDir, file), 'utf8'))),
  )
  const problems = []
  for (const { pkg } of workspace.byName.values()) {
    if (pkg.private) continue
    const bundled = new Set()
    const visit = (name) => {
      const entry = workspace.byName.get(name)
      if (entry === undefined || entry.pkg.private || bundled.has(name)) return
      bundled.add(name)
      for (const dep of Object.keys(entry.pkg.dependencies ?? {})) visit(dep)
    }
    for (const dep of Object.keys(pkg.devDependencies ?? {})) visit(dep)
    const changed = [...bundled].filter((name) => released.has(name))
    if (changed.length > 0 && !released.has(pkg.name)) {
      problems.push(
        `the pending changesets release ${changed.join(', ')}, bundled into ${pkg.name}, but not ${pkg.name}`,
      )
    }
  }
  for (const name of released) {
    if (!workspace.byName.has(name))
      problems.push(`a changeset releases ${name}, which is not a workspace package`)
  }
  return problems
}
