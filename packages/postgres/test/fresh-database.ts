import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

/** The local test server (trust authentication); PGTEST_URL points elsewhere. */
const SERVER = process.env.PGTEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A database of its own for one test file: created now, dropped (WITH FORCE) by `drop`. */
export interface FreshDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

/** Creates `agent_comm_test_<random>` on the local server. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const name = `agent_comm_test_${randomBytes(6).toString('hex')}`
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(SERVER)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    async drop() {
      const again = postgres(SERVER, { max: 1, onnotice: () => {} })
      try {
        await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await again.end()
      }
    },
  }
}
