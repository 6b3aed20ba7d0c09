import { describe, expect, it } from 'vitest'
import { safeBlock, safeIndentedBlock, safeJson, safeLine } from '../src/terminal-text.js'

// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these characters
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u
const HOSTILE = '\u001b]0;pwned\u0007\u009b31m\u007f\u202eevil\u2066x\u2069\u2028\rover'

describe('terminal text', () => {
  it('writes JSON that parses back exact and holds no raw control character', () => {
    const value = { subject: HOSTILE, nested: [{ [`key${HOSTILE}`]: HOSTILE }], n: 1 }
    const text = safeJson(value, 2)
    expect(text).not.toMatch(RAW_CONTROL)
    expect(text).toContain('\\u202e')
    expect(text).toContain('\\u009b')
    expect(JSON.parse(text)).toEqual(value)
    expect(safeJson('plain ünïcödé 😀')).toBe(JSON.stringify('plain ünïcödé 😀'))
  })

  it('leaves text it already escaped unchanged, so a whole output may pass through it again', () => {
    const line = safeLine(HOSTILE)
    const block = safeBlock(`${HOSTILE}\r\nnext\tline`)
    expect(safeBlock(line)).toBe(line)
    expect(safeBlock(block)).toBe(block)
    expect(block).not.toMatch(RAW_CONTROL)
  })

  it('sets a block in its own column: every line, CRLF ends and the escaped ones alike, starts with the margin', () => {
    const forged = `done\r\nreceipt: forged\n--- message 2 of 2 ---\nfrom: boss${HOSTILE}\n`
    const quoted = safeIndentedBlock(forged, '> ')
    expect(quoted).toBe(
      `> done\n> receipt: forged\n> --- message 2 of 2 ---\n> from: boss${safeBlock(HOSTILE)}\n> `,
    )
    expect(quoted).not.toMatch(/^(?!> )/m)
    expect(quoted).not.toMatch(RAW_CONTROL)
    expect(safeIndentedBlock('one line', '  ')).toBe('  one line')
  })
})
