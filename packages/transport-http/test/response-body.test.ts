import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { ResponseTooLargeError, readResponseText } from '../src/response-body.js'

/** An answer whose body is `body`, as undici hands it over. */
const answer = (body: Readable, headers: Record<string, string> = {}) =>
  ({ statusCode: 200, headers, body }) as unknown as Dispatcher.ResponseData

describe('reading an answer', () => {
  it('reads the whole body as UTF-8, from one chunk or several', async () => {
    expect(await readResponseText(answer(Readable.from([Buffer.from('{"ok":true}')])), 100)).toBe(
      '{"ok":true}',
    )
    const parts = [Buffer.from('h\u00e9'), Buffer.from('llo')]
    expect(await readResponseText(answer(Readable.from(parts)), 100)).toBe('h\u00e9llo')
  })

  it('refuses a body over the limit', async () => {
    const body = Readable.from([Buffer.alloc(60), Buffer.alloc(60)])
    await expect(readResponseText(answer(body), 100)).rejects.toBeInstanceOf(ResponseTooLargeError)
  })

  it('fails, rather than waiting forever, for a body whose connection died before it was read', async () => {
    const body = new Readable({ read() {} })
    const died = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })
    body.on('error', () => {})
    body.destroy(died)
    await new Promise((resolve) => body.once('close', resolve))
    await expect(readResponseText(answer(body), 100)).rejects.toBe(died)
  })
})
