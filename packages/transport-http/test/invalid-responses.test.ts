import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isUnavailableError, ManualClock } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { RelayClient, RelayError } from '../src/index.js'
import { onCleanup } from './helpers.js'

/** Not a relay: something at the relay's URL answering every request as `handler` says. */
async function brokenRelay(handler: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => handler(response))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  onCleanup(() => server.closeAllConnections())
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function client(url: string, maxResponseBytes?: number) {
  const c = new RelayClient({
    baseUrl: url,
    secretFor: () => 'builder-secret-0000000000',
    clock: new ManualClock(Date.UTC(2026, 1, 3)),
    retryDelayMs: 1,
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
  })
  onCleanup(() => c.close())
  return c
}

async function failure(call: Promise<unknown>): Promise<RelayError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(RelayError)
  return error as RelayError
}

describe('a relay URL that answers something no relay sends', () => {
  it('reports a 200 whose body is not JSON as an invalid response of the relay at that URL', async () => {
    const url = await brokenRelay((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"messageId":')
    })
    const error = await failure(client(url).ack('msg_1', 'builder', { receipt: 'r1' }))
    expect(error).toMatchObject({ code: 'STORAGE', relayCode: 'UNAVAILABLE', status: 200 })
    expect(error.message).toBe(
      `The relay at ${url} answered an invalid response: status 200 with a body that is not JSON (Unexpected end of JSON input)`,
    )
    expect(error.hint).toMatch(/agent-comm relay/)
  })

  it("reports a proxy's 502 page under a long poll (its replica died) as the relay being unavailable, which waiting loops retry", async () => {
    const url = await brokenRelay((res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><head><title>502 Bad Gateway</title></head></html>')
    })
    // A claim is not sent again by the client (it may have leased messages): the caller decides.
    const error = await failure(client(url).claim('builder', { waitMs: 1000 }))
    expect(error).toMatchObject({ code: 'STORAGE', relayCode: 'UNAVAILABLE', status: 502 })
    expect(isUnavailableError(error)).toBe(true)
    expect(error.message).toMatch(
      /^The relay answered HTTP 502 without an agent-comm error body, as a proxy does/,
    )
    expect(error.hint).toMatch(/^Retry in a moment/)
    expect(error.message).toContain('(it sent an HTML page)')
    expect(error.message).not.toContain('<')
  })

  it('reports a web server that is not a relay by its status, never echoing its HTML page', async () => {
    const page = [
      '<!DOCTYPE HTML>',
      '<html lang="en">',
      '    <head><title>Error response</title></head>',
      '    <body><h1>Error response</h1><p>Error code: 404</p></body>',
      '</html>',
    ].join('\n')
    const url = await brokenRelay((res) => {
      res.writeHead(404, { 'content-type': 'text/html;charset=utf-8' })
      res.end(page)
    })
    const error = await failure(client(url).ack('msg_1', 'builder', { receipt: 'r1' }))
    expect(error).toMatchObject({ code: 'CONFIG', status: 404 })
    expect(error.message).toBe(
      'The server at the relay URL answered HTTP 404 with an HTML page instead of an agent-comm error: it does not look like an agent-comm relay',
    )
    expect(error.hint).toMatch(/agent-comm relay/)
  })

  it('reports a 200 with JSON of another shape the same way, naming the field', async () => {
    const url = await brokenRelay((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"hello":"world"}')
    })
    const error = await failure(client(url).ack('msg_1', 'builder', { receipt: 'r1' }))
    expect(error).toMatchObject({ relayCode: 'UNAVAILABLE', status: 200 })
    expect(error.message).toMatch(
      new RegExp(
        `^The relay at ${url} answered an invalid response: status 200 with JSON this client does not expect at \\w+`,
      ),
    )
  })

  it('stops reading an endless answer at maxResponseBytes and says so, without waiting for its end', async () => {
    const url = await brokenRelay((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 'a')
      const pump = (): void => {
        while (res.write(chunk)) {}
        res.once('drain', pump)
      }
      res.write('"')
      pump()
    })
    // The answer never ends: that the call returns at all shows the reading stopped (no clock is read,
    // which a loaded machine would fail).
    const error = await failure(client(url, 1024 * 1024).ack('msg_1', 'builder', { receipt: 'r1' }))
    expect(error).toMatchObject({ relayCode: 'UNAVAILABLE' })
    expect(error.message).toBe(
      `The relay at ${url} answered an invalid response: the answer is larger than ${1024 * 1024} bytes`,
    )
  })

  it.each([
    ['a line that never ends', 'data: '],
    ['an event whose data lines never end with a blank line', ''],
  ])('stops reading an event stream at maxResponseBytes of %s, and says so', async (_, start) => {
    const url = await brokenRelay((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const chunk = start === '' ? 'data: aaaaaaaaaaaaaaa\n'.repeat(4096) : 'a'.repeat(64 * 1024)
      const pump = (): void => {
        while (res.write(chunk)) {}
        res.once('drain', pump)
      }
      res.write(': keep-alive\n\n')
      res.write(start)
      pump()
    })
    // The stream never ends an event: that the reading returns at all shows it stopped.
    const error = await failure(
      (async () => {
        for await (const _claimed of client(url, 1024 * 1024).stream('builder')) {
        }
      })(),
    )
    expect(error).toMatchObject({ relayCode: 'UNAVAILABLE' })
    expect(error.message).toBe(
      `The relay at ${url} answered an invalid response: the answer is larger than ${1024 * 1024} bytes`,
    )
  })

  it('refuses a declared length over maxResponseBytes, and an error answer over it too', async () => {
    const url = await brokenRelay((res) => {
      res.writeHead(502, { 'content-type': 'text/html', 'content-length': String(5000) })
      res.end('x'.repeat(5000))
    })
    const error = await failure(client(url, 1000).health())
    expect(error.message).toMatch(/answered an invalid response: the answer is larger than 1000 bytes/)
  })

  it('refuses a maxResponseBytes that is not a positive whole number', () => {
    expect(() => client('http://127.0.0.1:1', 0)).toThrow(/maxResponseBytes/)
  })
})
