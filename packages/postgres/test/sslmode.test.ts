import { setImmediate as nextTurn } from 'node:timers/promises'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { checkNodePostgresUrl, nodePostgresUrl, urlPrepare } from '../src/drivers/node-postgres.js'

describe('sslmode in a PostgreSQL URL', () => {
  const warnings: string[] = []
  const onWarning = (warning: Error) => warnings.push(warning.message)
  afterEach(() => {
    process.off('warning', onWarning)
    warnings.length = 0
  })

  it('verifies sslmode=prefer, require and verify-ca as verify-full, as node-postgres 8 does, without its deprecation warning', async () => {
    process.on('warning', onWarning)
    for (const mode of ['prefer', 'require', 'verify-ca']) {
      const url = `postgres://agent:pw@db.example.com:5432/app?sslmode=${mode}&application_name=x`
      expect(nodePostgresUrl(url)).toBe(
        'postgres://agent:pw@db.example.com:5432/app?sslmode=verify-full&application_name=x',
      )
      checkNodePostgresUrl(url)
    }
    await nextTurn()
    expect(warnings).toEqual([])
    // The URL as given would have printed it (node-postgres warns once per process: this comes last).
    new pg.Client({ connectionString: 'postgres://h/db?sslmode=require' })
    await nextTurn()
    expect(warnings).toEqual([expect.stringMatching(/^SECURITY WARNING/)])
  })

  it('leaves verify-full, disable, no-verify, no sslmode and libpq semantics as they were asked for', () => {
    for (const url of [
      'postgres://h/db?sslmode=verify-full',
      'postgres://h/db?sslmode=disable',
      'postgres://h/db?sslmode=no-verify',
      'postgres://h/db',
      'postgres://h/db?uselibpqcompat=true&sslmode=require',
      'not a url',
    ]) {
      expect(nodePostgresUrl(url)).toBe(url)
    }
  })
})

describe('prepare=false in a PostgreSQL URL', () => {
  it('is read by agent-comm and never sent to the server', () => {
    expect(urlPrepare('postgres://h:6432/db?prepare=false')).toBe(false)
    expect(urlPrepare('postgres://h:6432/db?prepare=true')).toBe(true)
    expect(urlPrepare('postgres://h:6432/db')).toBeUndefined()
    expect(nodePostgresUrl('postgres://h:6432/db?prepare=false&application_name=x')).toBe(
      'postgres://h:6432/db?application_name=x',
    )
    expect(nodePostgresUrl('postgres://h/db?sslmode=require&prepare=false')).toBe(
      'postgres://h/db?sslmode=verify-full',
    )
  })

  it('refuses any other value with a ConfigError', () => {
    expect(() => checkNodePostgresUrl('postgres://u:s3cret@h/db?prepare=off')).toThrow(/Invalid prepare=off/)
  })
})
