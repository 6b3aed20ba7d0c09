import { readFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { project, runCli } from './helpers.js'

const RECORDER = pathToFileURL(fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url))).href
const SCHEMA_COUNTER = pathToFileURL(
  fileURLToPath(new URL('./fixtures/count-zod-schemas.mjs', import.meta.url)),
).href

/** Runs `agent-comm <args>` in project `p` and returns the files of every module it loaded. */
async function modulesLoadedBy(
  p: ReturnType<typeof project>,
  args: string[],
  env: Record<string, string> = {},
) {
  const record = join(p.dir, 'modules.txt')
  const run = await runCli(args, {
    cwd: p.dir,
    env: { ...p.env, ...env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
  })
  expect(run.code, run.stderr).toBe(0)
  const urls = readFileSync(record, 'utf8').split('\n')
  const files = urls.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url))
  return Object.assign(files, { builtins: urls.filter((url) => url.startsWith('node:')) })
}

describe('startup', () => {
  it('sends to a local agent without loading fastify, undici, pino, the MCP SDK or OpenTelemetry', async () => {
    const p = project()
    await p.ok(['register', 'a', '-c', 'x', '-d', 'l'])
    await p.ok(['register', 'b', '-c', 'x', '-d', 'l'])
    const files = await modulesLoadedBy(p, ['send', 'a', 'b', 'hello'])
    // The recorder saw the run: the CLI's own files (send's fast path) and its runtime bundle.
    expect(files.some((f) => f.endsWith(join('dist', 'send-fast-path.bundle.js')))).toBe(true)
    expect(files.some((f) => f.endsWith('runtime.bundle.js'))).toBe(true)
    // The fast path is one bundled file: its modules and the protocol's small ones it reads (vocabulary,
    // errors…) are not loaded one by one (each is resolved, read and linked on its own).
    const cliDist = join('cli', 'dist') + sep
    expect(
      files
        .filter((f) => f.includes(cliDist) && !/runtime\.(bundle|chunk\.[^/\\]*)\.js$/.test(f))
        .map((f) => f.slice(f.indexOf(cliDist) + cliDist.length)),
    ).toEqual(['argv.js', 'send-fast-path.bundle.js'])
    expect(files.filter((f) => f.includes(join('protocol', 'dist')))).toEqual([])
    // Every bundled file it loads is ASCII only (scripts/bundle-runtime.mjs): one other character, even in a
    // comment, makes V8 hold the file as two-byte text that Node's compile cache re-encodes on every load.
    const bundled = files.filter((f) => f.includes(cliDist) && /\.(bundle|chunk\.[^/\\]*)\.js$/.test(f))
    expect(bundled.length).toBeGreaterThan(2)
    expect(bundled.filter((f) => /[^\0-\x7f]/u.test(readFileSync(f, 'utf8')))).toEqual([])
    for (const name of [
      'fastify',
      'undici',
      'pino',
      '@modelcontextprotocol',
      '@agent-comm/relay',
      '@agent-comm/mcp',
      // Nothing is registered with the OpenTelemetry API: send's span could not record, so the API (51
      // files, about 20 ms of CPU) is not loaded to make it (the coordinator's tracing.ts).
      '@opentelemetry',
    ]) {
      expect(files.filter((f) => f.includes(name))).toEqual([])
    }
    // protocol and zod come from the runtime bundle only: a second copy of them, loaded file by file
    // beside the bundle's, once made send take more than twice as long.
    expect(files.filter((f) => f.includes(`${sep}zod${sep}`))).toEqual([])
    expect(files.filter((f) => f.endsWith(join('protocol', 'dist', 'index.js')))).toEqual([])
    // undici is bundled into a chunk of its own: no file this run loaded holds it.
    for (const file of files.filter((f) => f.includes(`${join('cli', 'dist')}`))) {
      expect(readFileSync(file, 'utf8').includes('undici'), file).toBe(false)
    }
  })

  it('sends without loading what a send never uses: db copy, the file transport, node:crypto', async () => {
    const p = project()
    await p.ok(['register', 'a', '-c', 'x', '-d', 'l'])
    await p.ok(['register', 'b', '-c', 'x', '-d', 'l'])
    const files = await modulesLoadedBy(p, ['send', 'a', 'b', 'hello'])
    // esbuild names each module it bundles in a comment: no file this send loaded holds db copy's row
    // schemas or the file transport (its own entry, runtime.file-transport.js, required by its first use).
    for (const file of files.filter((f) => f.includes(join('cli', 'dist')))) {
      const source = readFileSync(file, 'utf8')
      expect(source.includes('spool/dist/copy.js'), file).toBe(false)
      expect(source.includes('transport-file/dist/'), file).toBe(false)
    }
    // The ids' randomness is read from the OS (/dev/urandom), and the database, already at the migrations
    // shipped in dist/vendor with their hashes, is opened without hashing them: no node:crypto (about 20 M
    // instructions of a send).
    if (process.platform !== 'win32') expect(files.builtins).not.toContain('node:crypto')
  })

  it('sends building only the zod schemas it parses with, from a zod without the parts nothing uses', async () => {
    const p = project()
    await p.ok(['register', 'a', '-c', 'x', '-d', 'l'])
    await p.ok(['register', 'b', '-c', 'x', '-d', 'l'])
    const count = join(p.dir, 'schemas.txt')
    const run = await runCli(['send', 'a', 'b', 'hello'], {
      cwd: p.dir,
      env: { ...p.env, NODE_OPTIONS: `--import=${SCHEMA_COUNTER}`, COUNT_ZOD_SCHEMAS_TO: count },
    })
    expect(run.code, run.stderr).toBe(0)
    // The protocol's schemas (about 400 with their checks), the spool's and the registry's options are built
    // on first use (the protocol's lazySchema): a send builds those of the message, its options, the
    // configuration and the registry's timing, about 180, where every one of 526 was built at load before.
    const built = Number(readFileSync(count, 'utf8'))
    expect(built).toBeGreaterThan(0)
    expect(built).toBeLessThan(300)
    // The bundle imports zod as a namespace (scripts/bundle-runtime.mjs), so esbuild leaves out the zod
    // nothing calls: no file this send loaded defines zod's file or map schemas.
    const files = await modulesLoadedBy(p, ['send', 'a', 'b', 'again'])
    for (const file of files.filter((f) => f.includes(join('cli', 'dist')))) {
      const source = readFileSync(file, 'utf8')
      expect(source.includes('$constructor("ZodFile"'), file).toBe(false)
      expect(source.includes('$constructor("ZodMap"'), file).toBe(false)
    }
  })

  it('delivers to a file transport agent, loading its entry on first use', async () => {
    const p = project()
    await p.ok(['register', 'a', '-c', 'x', '-d', 'l'])
    await p.ok([
      'register',
      'f',
      '-c',
      'x',
      '-d',
      'l',
      '--transport-type',
      'file',
      '--inbox-dir',
      join(p.dir, 'inbox'),
    ])
    const files = await modulesLoadedBy(p, ['send', 'a', 'f', 'hello'])
    expect(files.some((f) => f.endsWith(join('dist', 'runtime.file-transport.js')))).toBe(true)
    expect((await p.ok(['poll', 'f'])).stdout).toContain('Body: hello')
  })

  it('loads the HTTP transport chunk only for an agent registered as http', async () => {
    const p = project()
    await p.ok([
      'register',
      'remote',
      '-c',
      'x',
      '-d',
      'r',
      '--transport-type',
      'http',
      '--relay-url',
      'http://127.0.0.1:9',
    ])
    // Polling it fails (no secret) after the chunk was loaded to build the transport.
    const record = join(p.dir, 'modules.txt')
    const run = await runCli(['poll', 'remote'], {
      cwd: p.dir,
      env: { ...p.env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_TO: record },
    })
    expect(run.code).toBe(2)
    const files = readFileSync(record, 'utf8').split('\n')
    expect(
      files.some(
        (f) =>
          /runtime\.chunk\.[^/]*\.js$/.test(f) && readFileSync(fileURLToPath(f), 'utf8').includes('undici'),
      ),
    ).toBe(true)
    expect(files.filter((f) => f.includes('fastify'))).toEqual([])
  })
})
