import { afterAll, beforeAll, expect, it } from 'vitest'
import { openPostgresSpoolStore, type PostgresSpoolStore } from '../src/index.js'
import { type FreshDatabase, freshDatabase } from './fresh-database.js'
import { send, T0 } from './sends.js'
import { tcpProxy } from './tcp-proxy.js'

let db: FreshDatabase
let proxy: Awaited<ReturnType<typeof tcpProxy>>
const stores: PostgresSpoolStore[] = []

beforeAll(async () => {
  db = await freshDatabase()
  proxy = await tcpProxy()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await proxy?.close()
  await db?.drop()
})

it('keeps the change feed through a server that stays unreachable for several reconnect attempts', async () => {
  const url = new URL(db.url)
  url.port = String(proxy.port)
  const watcher = await openPostgresSpoolStore({ url: url.toString(), poolSize: 1 })
  const sender = await openPostgresSpoolStore({ url: db.url, poolSize: 1 })
  stores.push(watcher, sender)
  let changes = 0
  const stop = watcher.watch(() => changes++)
  await expect
    .poll(async () => {
      await sender.insertMessages({ sends: [send({ toAgent: 'a' })], now: T0 })
      return changes > 0
    })
    .toBe(true)
  proxy.down()
  await proxy.refusedAtLeast(3)
  proxy.up()
  const before = changes
  // Back up: the feed LISTENs again by itself and reports the reconnect, then hears new sends.
  await expect.poll(() => changes).toBeGreaterThan(before)
  const after = changes
  await expect
    .poll(async () => {
      await sender.insertMessages({ sends: [send({ toAgent: 'b' })], now: T0 })
      return changes > after
    })
    .toBe(true)
  stop()
})
