import { inspect } from 'node:util'
import { StorageError } from '@agent-comm/protocol'
import { afterAll, expect, it } from 'vitest'
import { toStorageError } from '../src/drivers/driver-errors.js'
import { sqlStateOf } from '../src/index.js'
import { createTestDatabase } from '../src/testing.js'

const db = await createTestDatabase({ name: 'driver_errors' })
afterAll(() => db.drop())

const URL_WITH_PASSWORD = 'postgres://agent:Pa55-w0rd@db.example:5432/spool'

/** A driver error as node-postgres and PGlite throw them: a message and a `code` (SQLSTATE or errno). */
const driverError = (code: string, message = `failed with ${code}`) =>
  Object.assign(new Error(message), { code })

it.each([
  ['42501', 'permission-denied', 'grant'],
  ['25006', 'read-only', 'primary'],
  ['53100', 'full', 'disk space'],
  ['53200', 'full', 'memory'],
  ['53300', 'too-many-connections', 'AGENT_COMM_PG_POOL_SIZE'],
  ['28P01', 'auth-failed', 'password'],
  ['3D000', 'database-missing', 'Create the database'],
  ['57P01', 'connection-lost', 'Retry'],
  ['ECONNREFUSED', 'unreachable', 'running'],
  ['ENOENT', 'unreachable', 'running'],
  ['ENOTFOUND', 'unreachable', 'The host name in postgres://agent@db.example:5432/spool does not resolve'],
  ['EAI_AGAIN', 'unreachable', 'could not be looked up now'],
  ['ECONNRESET', 'connection-lost', 'Retry'],
  ['40P01', 'conflict', 'Retry'],
  ['40001', 'conflict', 'Retry'],
  ['55P03', 'timeout', 'retry it'],
  ['57014', 'timeout', 'retry it'],
  ['42P01', 'query-failed', 'PostgreSQL Error Codes'],
])('maps %s to reason %s with a hint that says what to do', (code, reason, hint) => {
  const error = toStorageError(driverError(code), URL_WITH_PASSWORD, 'query')
  expect(error).toBeInstanceOf(StorageError)
  expect(error.details).toMatchObject({ reason, server: 'postgres://agent@db.example:5432/spool' })
  expect(error.hint).toContain(hint)
  expect(error.message).toContain('postgres://agent@db.example:5432/spool')
  if (/^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')) expect(sqlStateOf(error)).toBe(code)
})

it('says a role that does not exist does not exist, rather than asking for a password', () => {
  const error = toStorageError(
    driverError('28000', 'role "nouser_zz" does not exist'),
    URL_WITH_PASSWORD,
    'connect',
  )
  expect(error).toMatchObject({ details: { reason: 'role-missing' } })
  expect(error.hint).toContain('does not exist')
  expect(error.hint).not.toContain('password')
})

it('takes a database not accepting connections now for an unreachable one, worth retrying', () => {
  const error = toStorageError(
    driverError('55000', 'database "spool" is not currently accepting connections'),
    URL_WITH_PASSWORD,
    'connect',
  )
  expect(error).toMatchObject({ details: { reason: 'unreachable' }, transient: true })
})

it('puts the SQLSTATE of a rejected statement in the message, where every output shows it', () => {
  const error = toStorageError(
    driverError('42P01', 'relation "x" does not exist'),
    URL_WITH_PASSWORD,
    'query',
  )
  expect(error.message).toContain('(SQLSTATE 42P01)')
})

it.each([
  ['ECONNREFUSED', true],
  ['57P01', true],
  ['53300', true],
  ['55P03', true],
  ['57014', true],
  ['53100', true],
  ['40P01', true],
  ['42501', false],
  ['28P01', false],
  ['3D000', false],
  ['42P01', false],
])('marks %s as transient: %s', (code, transient) => {
  const error = toStorageError(driverError(code), URL_WITH_PASSWORD, 'query')
  expect((error as StorageError).transient).toBe(transient)
})

it.each([
  ['SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string', 'auth-failed', 'must carry one'],
  ['SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string', 'auth-failed', 'password'],
  ['The server does not support SSL connections', 'ssl-failed', 'sslmode'],
  ['There was an error establishing an SSL connection', 'ssl-failed', 'sslmode'],
])('maps the driver error "%s" (not a PostgreSQL rejection) to reason %s', (message, reason, hint) => {
  const error = toStorageError(new Error(message), URL_WITH_PASSWORD, 'connect')
  expect(error).toMatchObject({ code: 'STORAGE', details: { reason }, hint: expect.stringContaining(hint) })
  expect(error.details).not.toHaveProperty('sqlState')
})

it.each([
  ['ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.9:5432', 'connection refused, nothing listens there'],
  ['ENOENT', 'connect ENOENT /run/pg/.s.PGSQL.5432', 'no server socket there'],
  ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.9:5432', 'the connection attempt timed out'],
  [
    '28P01',
    'password authentication failed for user "agent"',
    'password authentication failed for user "agent"',
  ],
  ['28000', 'role "agent" does not exist', 'role "agent" does not exist'],
  ['3D000', 'database "spool" does not exist', 'database "spool" does not exist'],
  ['53300', 'too many connections for role "agent"', 'too many connections for role "agent"'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'self-signed certificate'],
])(
  'words a failed connection (%s) as one, whatever the call was doing: could not connect to host:port, and why',
  (code, text, why) => {
    for (const doing of ['query', 'connect', 'ping']) {
      const error = toStorageError(driverError(code, text), URL_WITH_PASSWORD, doing)
      expect(error.message).toBe(
        `Could not connect to PostgreSQL at db.example:5432 (postgres://agent@db.example:5432/spool): ${why}${why === text ? '' : ` (${text})`}`,
      )
      expect(error.hint).toEqual(expect.any(String))
      expect(`${error.message}${error.hint}`).not.toContain('Pa55-w0rd')
    }
  },
)

it.each([
  ['postgres://agent:Pa55-w0rd@db.example/spool', 'db.example:5432'],
  ['postgres://agent@[::1]:6432/spool', '[::1]:6432'],
  ['postgres://agent@/spool?host=/var/run/postgresql', '/var/run/postgresql/.s.PGSQL.5432'],
  ['postgres://agent@localhost/spool?host=/tmp/&port=5499', '/tmp/.s.PGSQL.5499'],
  ['postgres:///spool', 'localhost:5432'],
])('names where it tried to connect for %s: %s', (url, endpoint) => {
  const error = toStorageError(driverError('ECONNREFUSED'), url, 'query')
  expect(error.message).toMatch(
    new RegExp(`^Could not connect to PostgreSQL at ${endpoint.replace(/[[\]./]/g, '\\$&')} \\(`),
  )
})

it('keeps the wording of a statement the server rejected: the operation failed at the URL', () => {
  const error = toStorageError(
    driverError('42501', 'permission denied for table x'),
    URL_WITH_PASSWORD,
    'query',
  )
  expect(error.message).toBe(
    'PostgreSQL query failed at postgres://agent@db.example:5432/spool: permission denied for table x',
  )
})

it('maps an untrusted server certificate to reason ssl-failed', () => {
  const error = toStorageError(
    driverError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
    URL_WITH_PASSWORD,
  )
  expect(error).toMatchObject({
    details: { reason: 'ssl-failed' },
    hint: expect.stringContaining('sslrootcert'),
  })
})

it('maps a URL the driver cannot parse to a ConfigError saying it is malformed, without the password', () => {
  const url = 'postgres://agent:Pa55-w0rd@db.example:notaport/spool'
  const error = toStorageError(driverError('ERR_INVALID_URL', 'Invalid URL'), url, 'connect')
  expect(error).toMatchObject({
    code: 'CONFIG',
    message: expect.stringContaining('Malformed PostgreSQL URL'),
  })
  expect([error.message, error.hint, JSON.stringify(error.toJSON())].join('\n')).not.toContain('Pa55-w0rd')
})

it('blanks the password out of a driver message, the hint, the details and the cause', () => {
  const error = toStorageError(
    driverError('28P01', 'password authentication failed for "agent" (Pa55-w0rd)'),
    URL_WITH_PASSWORD,
    'connect',
  )
  const printed = [error.message, error.hint, JSON.stringify(error.toJSON()), inspect(error, { depth: 20 })]
  expect(printed.join('\n')).not.toContain('Pa55-w0rd')
})

it('passes an error that is already an AgentCommError through unchanged', () => {
  const mapped = toStorageError(driverError('42501'), URL_WITH_PASSWORD, 'query')
  expect(toStorageError(mapped, 'postgres://elsewhere/db')).toBe(mapped)
})

it('reports a write in a read-only transaction as reason read-only', async () => {
  const client = db.client()
  await client.query('CREATE TABLE ro (x int)')
  const failure = await client
    .transaction(async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY')
      await tx.query('INSERT INTO ro VALUES (1)')
    })
    .catch((error: unknown) => error)
  expect(failure).toMatchObject({ code: 'STORAGE', details: { reason: 'read-only', sqlState: '25006' } })
})
