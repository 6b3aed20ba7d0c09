import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import helmet from '@fastify/helmet'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'

/** Where the built front end lives: `web-dist/` of this package, shipped prebuilt. */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../web-dist/', import.meta.url))

/**
 * The page's Content-Security-Policy: scripts, styles and connections from this origin only, no inline
 * script or style, no plugins, no framing, no forms to elsewhere. A message body that slipped past the
 * page's text rendering still could not run or load anything.
 */
export const CONSOLE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  manifestSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
} as const

/** Options of {@link consolePlugin}. */
export interface ConsolePluginOptions {
  /** Folder of the built front end (default {@link CONSOLE_ASSETS_DIR}). */
  assetsDir?: string
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
}

/** Every file under `dir`, by path relative to it, read once at startup (the console is ~100 kB). */
function readAssets(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const full = join(entry.parentPath, entry.name)
    files.set(
      full
        .slice(dir.length)
        .replace(/^[/\\]+/, '')
        .split('\\')
        .join('/'),
      readFileSync(full),
    )
  }
  return files
}

/**
 * Serves the console's front end under the prefix it is registered with (the relay uses `/console`):
 * the page at `<prefix>/`, its hashed assets under `<prefix>/assets/`, with a strict CSP and helmet's
 * other headers. The page talks to the relay's JSON API under `/api/v1` with its session cookie.
 */
export const consolePlugin: FastifyPluginAsync<ConsolePluginOptions> = async (
  app: FastifyInstance,
  options: ConsolePluginOptions,
) => {
  const assets = readAssets(options.assetsDir ?? CONSOLE_ASSETS_DIR)
  const index = assets.get('index.html')
  if (index === undefined) {
    throw new Error(
      `The console's front end is missing (no index.html in ${options.assetsDir ?? CONSOLE_ASSETS_DIR})`,
    )
  }
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
    crossOriginEmbedderPolicy: true,
    referrerPolicy: { policy: 'no-referrer' },
  })
  const page = (reply: import('fastify').FastifyReply) =>
    reply.type(TYPES['.html']!).header('cache-control', 'no-store').send(index)
  app.get('/', async (_request, reply) => page(reply))
  app.get('/assets/*', async (request, reply) => {
    const name = `assets/${(request.params as { '*': string })['*']}`
    const file = assets.get(name)
    if (file === undefined) {
      return reply
        .code(404)
        .type('application/json')
        .send({
          error: { code: 'NOT_FOUND', message: `No console asset ${name}` },
        })
    }
    return reply
      .type(TYPES[extname(name)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(file)
  })
}
