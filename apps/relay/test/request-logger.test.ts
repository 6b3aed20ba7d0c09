import { Writable } from 'node:stream'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { describe, expect, it } from 'vitest'
import { createRelayLogger } from '../src/index.js'
import { lazyRequestLogger } from '../src/request-logger.js'
import { startTestRelay } from './helpers.js'

/** A relay logger at `level` whose lines are kept, and a count of the pino children made from it. */
function countingLogger(level: 'warn' | 'info') {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line))
      done()
    },
  })
  const logger = createRelayLogger({ level, destination })
  const counted = { children: 0 }
  const child = logger.child.bind(logger)
  logger.child = ((...args: Parameters<typeof logger.child>) => {
    counted.children++
    return child(...args)
  }) as typeof logger.child
  return { logger, lines, counted }
}

async function appWith(logger: FastifyBaseLogger) {
  const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyRequestLogger })
  app.get('/quiet', async (request) => {
    request.log.info({ secret: 'never shown' }, 'below the level')
    request.log.debug('below the level too')
    return { ok: true }
  })
  app.get('/loud', async (request) => {
    request.log.warn({ secret: 's3cret', what: 'it' }, 'written')
    request.log.info('below the level')
    request.log.warn('written again')
    return { ok: true }
  })
  app.get('/louder', async (request) => {
    request.log.level = 'debug'
    request.log.debug('debug on this request')
    return { ok: true }
  })
  await app.ready()
  return app
}

describe('the request logger', () => {
  it('makes no pino child for requests that write no line', async () => {
    const { logger, lines, counted } = countingLogger('warn')
    const app = await appWith(logger)
    const before = counted.children
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200)
    // fastify's default factory makes one child per request, five here.
    expect(counted.children - before).toBe(0)
    expect(lines.filter((l) => l.msg === 'below the level')).toEqual([])
    await app.close()
  })

  it('writes an enabled line through one child per request, with the request id and redaction', async () => {
    const { logger, lines, counted } = countingLogger('warn')
    const app = await appWith(logger)
    const before = counted.children
    const response = await app.inject({ url: '/loud' })
    expect(response.statusCode).toBe(200)
    // The line of fields needs no child; the bare message makes one.
    expect(counted.children - before).toBe(1)
    const written = lines.filter((l) => l.msg === 'written' || l.msg === 'written again')
    expect(written).toHaveLength(2)
    for (const line of written) expect(line.reqId).toEqual(expect.any(String))
    expect(written[0]).toMatchObject({ what: 'it', secret: '[redacted]', service: 'agent-comm-relay' })
    expect(lines.some((l) => l.msg === 'below the level')).toBe(false)
    await app.close()
  })

  it('writes a line of fields without a child, exactly as the child would write it', async () => {
    const lazy = countingLogger('info')
    const eager = countingLogger('info')
    const lazyApp = await appWith(lazy.logger)
    const eagerApp = Fastify({ loggerInstance: eager.logger })
    eagerApp.get('/quiet', async (request) => {
      request.log.info({ secret: 'never shown' }, 'below the level')
      return { ok: true }
    })
    await eagerApp.ready()
    const before = lazy.counted.children
    await lazyApp.inject({ url: '/quiet' })
    await eagerApp.inject({ url: '/quiet' })
    // The line of fields is written by the parent: still no child (fastify's default made one).
    expect(lazy.counted.children - before).toBe(0)
    const strip = (line: Record<string, unknown> | undefined) => {
      const { time: _time, reqId, ...rest } = line ?? {}
      return { ...rest, reqId: typeof reqId }
    }
    const lazyLine = lazy.lines.find((l) => l.msg === 'below the level')
    const eagerLine = eager.lines.find((l) => l.msg === 'below the level')
    expect(Object.keys(lazyLine ?? {})).toEqual(Object.keys(eagerLine ?? {}))
    expect(strip(lazyLine)).toEqual(strip(eagerLine))
    expect(lazyLine).toMatchObject({ secret: '[redacted]', reqId: expect.any(String) })
    await lazyApp.close()
    await eagerApp.close()
  })

  it('follows the parent logger’s level when it changes, and a level set on the request itself', async () => {
    const { logger, lines } = countingLogger('warn')
    const app = await appWith(logger)
    logger.level = 'info'
    await app.inject({ url: '/quiet' })
    expect(lines.filter((l) => l.msg === 'below the level')).toHaveLength(1)
    logger.level = 'warn'
    await app.inject({ url: '/louder' })
    expect(lines.some((l) => l.msg === 'debug on this request')).toBe(true)
    await app.close()
  })

  it('is the relay’s child logger factory', async () => {
    const relay = await startTestRelay({ listen: false })
    expect(relay.app.childLoggerFactory).toBe(lazyRequestLogger)
  })
})
