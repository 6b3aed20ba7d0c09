// Bundles src/runtime.ts (the coordinator and everything under it) into dist/runtime.bundle.js, and what
// it imports lazily into dist/runtime.chunk.*.js.
//
// Why: loading the library packages file by file costs about 0.5 s per command, most of it Node
// resolving drizzle-orm's ~150 modules against its 180 KB package.json; one bundled file loads in under
// 0.1 s. better-sqlite3 stays external (a native addon).
//
// Packages that find files next to their code through import.meta.url (the spool's and the registry's
// drizzle migrations) get it rewritten to a copy of their package under dist/vendor/<name>/, where their
// published non-code files are copied, so they find the same files at the same relative paths.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeShippedHashes } from '@agent-comm/spool'
import { build } from 'esbuild'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const dist = join(root, 'dist')
const vendor = join(dist, 'vendor')

/** The folder and package.json of the package holding `file`. */
function packageOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return { dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }
    } catch {
      // no package.json here: keep looking upwards
    }
  }
  throw new Error(`no package.json above ${file}`)
}

const vendored = new Map()
const requireFromCli = createRequire(join(root, 'package.json'))

const ZOD_NAMED_IMPORT = "import { z } from 'zod'"
const ZOD_NAMESPACE_IMPORT = "import * as z from 'zod'"

const relocateImportMetaUrl = {
  name: 'relocate-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const read = readFileSync(args.path, 'utf8')
      const source = read.replaceAll(ZOD_NAMED_IMPORT, ZOD_NAMESPACE_IMPORT)
      if (!source.includes('import.meta.url')) {
        return source === read ? undefined : { contents: source, loader: 'js' }
      }
      const { dir, pkg } = packageOf(args.path)
      if (!pkg.name?.startsWith('@agent-comm/')) {
        throw new Error(`${pkg.name} (${args.path}) uses import.meta.url: teach bundle-runtime.mjs about it`)
      }
      vendored.set(pkg.name, { dir, pkg })
      const mirror = `./vendor/${pkg.name}/${relative(dir, args.path).split('\\').join('/')}`
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(mirror)}, import.meta.url).href`,
        ),
        loader: 'js',
      }
    })
  },
}

// zod re-exports all its locales (`z.locales`, 64 files, about 340 KB of source, more than the rest of zod)
// from its main entry; esbuild cannot leave a namespace re-export out, so every command would parse them.
// Nothing here reads `z.locales` and zod's messages are English (it imports en.js itself), so the bundle's
// copy of the locale index names English only. The build fails if zod's index is no longer found, so a
// changed zod is looked at again.
let zodLocaleIndexes = 0
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => {
      zodLocaleIndexes += 1
      return { contents: 'export { default as en } from "./en.js"', loader: 'js' }
    })
  },
}

// The coordinator loads @opentelemetry/api and @agent-comm/transport-file on first use, with `require`
// from its own folder (src/deferred-imports.ts), which esbuild cannot follow and which would not find
// those packages next to the installed CLI. In the bundle that module requires the file transport from
// the bundle's own entry for it (runtime.file-transport.js) and the API from the CLI's own dependencies
// (see the external list below). The build fails if it is no longer found, so a moved file is looked at again.
let coordinatorDeferredImports = 0
const coordinatorStaticImports = {
  name: 'coordinator-static-imports',
  setup(b) {
    b.onLoad({ filter: /[\\/]coordinator[\\/]dist[\\/]deferred-imports\.js$/ }, () => {
      coordinatorDeferredImports += 1
      return {
        contents: [
          "import { fileURLToPath } from 'node:url'",
          // `require` is the bundle's own (see the banner); the path is the API's ES module entry, so this
          // is the instance every `import '@opentelemetry/api'` of the process gets.
          "export const loadOpenTelemetryApi = () => require(fileURLToPath(import.meta.resolve('@opentelemetry/api')))",
          // The file transport is an entry of its own (runtime.file-transport.js, below), sharing the
          // bundle's chunks (one protocol, one zod): required, synchronously, when the first file
          // transport is made, so a send to an agent on another transport never loads its modules, its
          // 44 zod schemas and node:crypto. This module sits in a chunk in dist/, next to that entry.
          "export const loadFileTransport = () => require(fileURLToPath(new URL('./runtime.file-transport.js', import.meta.url)))",
        ].join('\n'),
        loader: 'js',
      }
    })
  },
}

// esbuild puts each module in a chunk by the set of entry points (the dynamic imports' among them) that reach
// it, so the runtime's own modules came out as some 15 chunks, one per such set, and every command loaded
// them all: each ES module file is resolved, read, cached and linked on its own, about 1 M instructions
// apiece. Every dynamic import, and the file transport's entry, is made to import the runtime too (it is
// always loaded before them anyway), so the modules the runtime loads at once share one set and one chunk
// (two: the hook's entry keeps its own small share). What only a dynamic import reaches stays in its chunk.
const runtimeEntry = join(root, 'src/runtime.ts')
/** An entry point named with this prefix is built as that module importing the runtime too. */
const WITH_RUNTIME = 'with-runtime:'
const withRuntime = {
  name: 'with-runtime',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' && !args.path.startsWith(WITH_RUNTIME)) return undefined
      const path = args.path.startsWith(WITH_RUNTIME) ? args.path.slice(WITH_RUNTIME.length) : args.path
      const target = await b.resolve(path, { kind: 'import-statement', resolveDir: args.resolveDir })
      if (target.errors.length > 0) return { errors: target.errors }
      return { path: target.path, namespace: 'with-runtime' }
    })
    b.onLoad({ filter: /.*/, namespace: 'with-runtime' }, (args) => ({
      contents: `import ${JSON.stringify(runtimeEntry)}\nexport * from ${JSON.stringify(args.path)}\n`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }))
  },
}

rmSync(vendor, { recursive: true, force: true })
for (const file of readdirSync(dist)) {
  if (file.startsWith('runtime.chunk.') || file === 'runtime.file-transport.js') rmSync(join(dist, file))
}
await build({
  // The hook's own entry (hook-runtime.ts) shares chunks with the runtime's, and loads none of its others.
  entryPoints: {
    'runtime.bundle': runtimeEntry,
    'hook-runtime.bundle': join(root, 'src/hook-runtime.ts'),
    // The coordinator's file transport (see coordinatorStaticImports), from the coordinator's dependencies.
    'runtime.file-transport': `${WITH_RUNTIME}${createRequire(
      requireFromCli.resolve('@agent-comm/coordinator'),
    ).resolve('@agent-comm/transport-file')}`,
  },
  outdir: dist,
  // What runtime.ts imports dynamically (the HTTP transport with undici, the secret store) goes to chunks
  // loaded on first use, so commands that never reach an http agent never parse them. Chunks sit next to
  // the bundle, so the rewritten import.meta.url paths below hold for them too. Not minified: the packaging
  // check reads esbuild's module comments in what `agent-comm send` loads to prove it loads no undici.
  splitting: true,
  chunkNames: 'runtime.chunk.[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // better-sqlite3 is a native addon. @opentelemetry/api must be the one copy of the process: an SDK
  // (the relay's, or an embedding program's) registers its provider through the installed package, and
  // a copy inlined here would have a proxy of its own that never gets it.
  external: ['better-sqlite3', '@opentelemetry/api'],
  // undici (in the HTTP transport's chunk) is CommonJS and requires Node's built-ins; an ES module has no
  // `require`, so each output file gets one.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  plugins: [withRuntime, coordinatorStaticImports, relocateImportMetaUrl, zodEnglishOnly],
})
if (coordinatorDeferredImports !== 1) {
  throw new Error(
    `expected the coordinator's deferred-imports.js once in the runtime bundle, found it ${coordinatorDeferredImports} times: see coordinatorStaticImports`,
  )
}
if (zodLocaleIndexes !== 1) {
  throw new Error(
    `expected zod's locale index once in the runtime bundle, found it ${zodLocaleIndexes} times: see zodEnglishOnly`,
  )
}
for (const [name, { dir, pkg }] of vendored) {
  for (const entry of pkg.files ?? []) {
    // dist is the bundle's own input; `!…` entries exclude files from the tarball, there is nothing to copy.
    if (entry === 'dist' || entry.startsWith('!') || entry.endsWith('.md')) continue
    cpSync(join(dir, entry), join(vendor, name, entry), { recursive: true })
  }
}
// The SQLite migrations the bundle applies (the spool's and the registry's) get the hashes of these copies
// written beside their journal: opening a database already at them then reads one small file instead of
// reading and hashing every migration (and loading node:crypto to do it) on every command. Older, newer
// or edited databases are still checked from the migration files (the spool's applyMigrations).
for (const name of ['@agent-comm/spool', '@agent-comm/registry']) {
  if (!vendored.has(name)) throw new Error(`${name} is no longer vendored: see writeShippedHashes below`)
  writeShippedHashes(join(vendor, name, 'drizzle'))
}

// send's fast path (src/send-fast-path.ts and the CLI's and protocol's small modules it imports) as one
// file, dist/send-fast-path.bundle.js, which bin/run.js loads for every `send`: file by file it was about 15
// ES modules, each resolved, read and linked on its own (about 26 M instructions, 6 % of a send, in
// valgrind's count). What it imports dynamically stays a separate file, loaded as before: the runtime bundle
// (the one copy of the library code), oclif, and the packages of other commands.
const dynamicImportsStayOutside = {
  name: 'dynamic-imports-stay-outside',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    )
  },
}
await build({
  entryPoints: { 'send-fast-path.bundle': join(root, 'src/send-fast-path.ts') },
  outdir: dist,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  logLevel: 'warning',
  plugins: [dynamicImportsStayOutside],
})

// oclif itself as one CommonJS file, dist/oclif-core.bundle.cjs, which bin/run.js makes every
// `import '@oclif/core'` resolve to (ours and oclif's plugins' alike: one copy). Loaded file by file it is
// about 150 modules (semver, minimatch, tinyglobby, ejs…) and the largest part of a command's start-up.
// The entry names oclif's exports one by one so Node's ES module loader sees them as named exports.

// fdir (under tinyglobby, under oclif) probes for picomatch with `require.resolve('picomatch')` before it
// requires it. The bundle holds picomatch, but the probe still asks Node to find a package named picomatch
// next to the installed CLI, which does not declare it: in an npm install it finds the hoisted copy (a
// run-time import of an undeclared package, which `pnpm verify:packages` rejects), under pnpm it finds
// nothing and fdir goes without. The probe is dropped, so the bundled copy is always the one used; the
// build fails if fdir no longer probes this way, so a changed fdir is looked at again.
const PICOMATCH_PROBE = 'require.resolve("picomatch");'
let picomatchProbes = 0
const dropPicomatchProbe = {
  name: 'drop-picomatch-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]fdir[\\/].*\.c?js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes(PICOMATCH_PROBE)) return undefined
      picomatchProbes += 1
      return { contents: source.replaceAll(PICOMATCH_PROBE, ''), loader: 'js' }
    })
  },
}
const oclifExports = Object.keys(requireFromCli('@oclif/core')).filter((name) => name !== '__esModule')
await build({
  stdin: {
    contents: `export { ${oclifExports.join(', ')} } from '@oclif/core'`,
    resolveDir: root,
    loader: 'js',
  },
  outfile: join(dist, 'oclif-core.bundle.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  // oclif asks for TypeScript only in development mode, from the user's own install.
  external: ['typescript'],
  logLevel: 'warning',
  plugins: [dropPicomatchProbe],
})
if (picomatchProbes !== 1) {
  throw new Error(
    `expected fdir's picomatch probe once in the oclif bundle, found it ${picomatchProbes} times: see dropPicomatchProbe`,
  )
}

// Every bundled file ASCII only. esbuild escapes non-ASCII characters in strings and identifiers (its
// default charset), but keeps them in the comments it carries over (an em dash in a zod or agent-comm
// comment) and in some regular expression literals (ansis, under oclif, strips colours with a class holding a
// raw U+009B). One such character makes V8 hold the whole file as a two-byte string, and Node's compile
// cache turns the source back into UTF-8 to hash it on every load: for the 430 KB zod chunk about 15 M
// instructions per command (valgrind's count), more than a tenth of a send's own work. Each is written in
// place as `\uXXXX` escapes of its UTF-16 code units, which mean the character itself in a string, a
// template, an identifier and a regular expression with or without the `u` flag, and are only text in a
// comment. (`\u{…}` is not: in a regular expression without `u` it is the letter u and a quantifier-like
// text, which turned ansis's class into one matching `u` and `b` and ate letters out of every `--help`
// listing.) test/startup.test.ts checks what send loads, test/help-listing.test.ts the listing.
/** `\uXXXX` escapes of each UTF-16 code unit of `character`. */
const escapeUnits = (character) =>
  Array.from(
    { length: character.length },
    (_, i) => `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`,
  ).join('')
for (const file of readdirSync(dist)) {
  if (
    !/^(runtime\.|hook-runtime\.bundle\.js$|send-fast-path\.bundle\.js$|oclif-core\.bundle\.cjs$)/.test(file)
  )
    continue
  const path = join(dist, file)
  const source = readFileSync(path, 'utf8')
  // An odd run of backslashes before the character escapes it (`\é` is `é`): its last backslash becomes
  // the escape's own.
  const ascii = source.replace(
    /(\\*)([^\0-\x7f])/gu,
    (_, slashes, character) =>
      (slashes.length % 2 === 1 ? slashes.slice(1) : slashes) + escapeUnits(character),
  )
  if (ascii !== source) writeFileSync(path, ascii)
}
