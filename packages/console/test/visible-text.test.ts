import { describe, expect, it } from 'vitest'
import { visible, visibleJson } from '../web/src/text.js'

describe('agent text as the console shows it', () => {
  it('shows every bidi override, embedding, isolate and mark as a visible escape', () => {
    const controls = [
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
      '\u200e',
      '\u200f',
      '\u061c',
    ]
    for (const c of controls) {
      const shown = visible(`a${c}b`)
      expect(shown).toBe(`a\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}b`)
    }
    expect(visible('\u202egnp.exe\u202c')).toBe('\\u202egnp.exe\\u202c')
  })

  it('keeps line feeds and tabs of a body, escapes other controls and the line separators', () => {
    expect(visible('one\r\ntwo\tthree')).toBe('one\ntwo\tthree')
    expect(visible('a\rb\u001b[2Jc\u2028d\u007f')).toBe('a\\rb\\x1b[2Jc\\u2028d\\x7f')
    expect(visible('plain text, é, 日本')).toBe('plain text, é, 日本')
  })

  it('writes JSON whose escapes parse back to exactly the value', () => {
    const value = { file: '\u202egnp.exe\u202c', del: '\u007f', nested: ['\u2066x\u2069'] }
    const text = visibleJson(value)
    expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u007f]/)
    expect(text).toContain('"\\u202egnp.exe\\u202c"')
    expect(JSON.parse(text)).toEqual(value)
  })
})
