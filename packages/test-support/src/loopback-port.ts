import { createServer } from 'node:net'

/**
 * A loopback port nothing listens on now (taken, then released): for a server a test starts itself (nginx,
 * PgBouncer, a PostgreSQL cluster), or as an address where nobody answers.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}
