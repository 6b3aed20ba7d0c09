import { describe, expect, it } from 'vitest'
import { redactUrl, redactUrlsIn, urlSecrets } from '../src/index.js'

describe('redactUrl', () => {
  it('keeps the user, host, path and other parameters, and drops the password and secret parameters', () => {
    expect(redactUrl('postgres://u:p@h:5432/db')).toBe('postgres://u@h:5432/db')
    expect(redactUrl('postgres://h/db?password=x&sslmode=require')).toBe('postgres://h/db?sslmode=require')
    expect(redactUrl('postgres://h/db?sslmode=require&sslpassword=x')).toBe('postgres://h/db?sslmode=require')
    expect(redactUrl('https://c:4318/v1/traces?api_key=k&x=1#frag')).toBe('https://c:4318/v1/traces?x=1')
    expect(redactUrl('/var/data/coordination.db')).toBe('/var/data/coordination.db')
  })

  it.each([
    ['an unencoded @ and #', 'postgres://u:S3C@RET#pw@h:5432/x'],
    ['an unencoded #', 'postgres://u:S3C#RET@h/db'],
    ['an unencoded ?', 'postgres://u:S3C?RET@h/db'],
    ['an unencoded /', 'postgres://u:S3C/RET@h/db'],
    ['a port the parser refuses', 'postgres://u:S3CRET@h:99999/db'],
  ])('shows nothing of a password holding %s', (_what, url) => {
    const shown = redactUrl(url)
    expect(shown).not.toMatch(/S3C|RET/)
    expect(shown).toMatch(/^postgres:\/\/u@h/)
  })
})

describe('redactUrlsIn', () => {
  it('redacts every URL in a text, such as a config file quoting one', () => {
    const text = JSON.stringify({ env: { AGENT_COMM_DB_PATH: 'postgres://u:S3C#RET@h/db' } })
    expect(redactUrlsIn(text)).toBe(JSON.stringify({ env: { AGENT_COMM_DB_PATH: 'postgres://u@h/db' } }))
  })
})

describe('urlSecrets', () => {
  it('lists the password and secret parameter values, as written and decoded', () => {
    expect(urlSecrets('postgres://u:p%40ss@h/db?password=q&sslmode=require').sort()).toEqual(
      ['p%40ss', 'p@ss', 'q'].sort(),
    )
  })
})
