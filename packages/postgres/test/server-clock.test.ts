import { ManualClock } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { SqlQueryable } from '../src/client.js'
import { openPostgresSpoolStore, ServerClock } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing.js'

/** This machine's clock in the tests below: it moves only when told to. */
const local = new ManualClock(Date.UTC(2026, 1, 3, 14, 30))

/** A database whose clock stands `offsetMs` from `local`; `fail()` makes its next reading fail. */
function skewedServer(offsetMs: number) {
  let failing = false
  const db: SqlQueryable = {
    async query<R>() {
      if (failing) throw new Error('connection lost')
      return [{ now: local.now() + offsetMs }] as R[]
    },
  }
  return { db, fail: () => (failing = true) }
}

it('reads the server’s time: a machine whose clock is 40 s behind the server’s reads the server’s', async () => {
  const clock = await ServerClock.start(skewedServer(40_000).db, { local })
  try {
    expect(clock.offsetMs).toBe(40_000)
    expect(clock.now()).toBe(local.now() + 40_000)
    local.advance(5_000)
    expect(clock.now()).toBe(local.now() + 40_000)
  } finally {
    clock.stop()
  }
})

it('reads this machine’s own time while the server’s agrees within measuring error', async () => {
  const clock = await ServerClock.start(skewedServer(100).db, { local })
  try {
    expect(clock.offsetMs).toBe(0)
  } finally {
    clock.stop()
  }
})

it('takes an offset within half a slow round trip as 0, and measures with the fastest of three readings', async () => {
  // A loaded machine: each reading takes 1.2 s, and the server answers at the start of it, so one reading
  // alone suggests the server is 600 ms behind — noise that two processes would each measure differently.
  const slow: SqlQueryable = {
    async query<R>() {
      const now = local.now()
      local.advance(1_200)
      return [{ now }] as R[]
    },
  }
  const clock = await ServerClock.start(slow, { local })
  try {
    expect(clock.offsetMs).toBe(0)
  } finally {
    clock.stop()
  }
  // Round trips of 2 s, 20 ms and 2 s to a server 10 s ahead: the 20 ms reading decides.
  const trips = [2_000, 20, 2_000]
  const varied: SqlQueryable = {
    async query<R>() {
      const trip = trips.shift() ?? 20
      local.advance(trip / 2)
      const now = local.now() + 10_000 + (trip === 20 ? 0 : 700)
      local.advance(trip / 2)
      return [{ now }] as R[]
    },
  }
  const ahead = await ServerClock.start(varied, { local })
  try {
    expect(ahead.offsetMs).toBe(10_000)
  } finally {
    ahead.stop()
  }
})

it('keeps its last offset when measuring again fails', async () => {
  const server = skewedServer(-90_000)
  const clock = await ServerClock.start(server.db, { local })
  try {
    expect(clock.offsetMs).toBe(-90_000)
    server.fail()
    await expect(clock.sync()).rejects.toThrow('connection lost')
    expect(clock.offsetMs).toBe(-90_000)
  } finally {
    clock.stop()
  }
})

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase({ name: 'server_clock' })
})
afterAll(async () => {
  await db?.drop()
})

it('gives a spool opened on the store without a clock the server’s, and leaves an injected one alone', async () => {
  const store = await openPostgresSpoolStore(
    db.kind === 'server' ? { url: db.url, poolSize: 2 } : { client: db.client() },
  )
  const spool = await Spool.open({ store })
  try {
    expect(store.clock).toBeInstanceOf(ServerClock)
    expect(spool.clock).toBe(store.clock)
    // The local server runs on this machine: the clocks agree (within the 250 ms measuring band), so the
    // offset is taken as 0 and every process here reads the very same time.
    expect((store.clock as ServerClock).offsetMs).toBe(0)
  } finally {
    await spool.close()
  }
  const manual = new ManualClock(Date.UTC(2026, 1, 3))
  const other = await Spool.open({
    store: await openPostgresSpoolStore(
      db.kind === 'server' ? { url: db.url, poolSize: 2 } : { client: db.client() },
    ),
    clock: manual,
  })
  try {
    expect(other.clock).toBe(manual)
  } finally {
    await other.close()
  }
})
