// The JavaScript a drain costs above the driver: Spool.claim(100) + Spool.ackBatch(100) through
// PostgresSpoolStore on a fake SqlClient that answers with rows captured from one real claim (copied per
// call, as the driver builds new objects), so neither the server nor node-postgres is in the figure. Prints
// node's CPU per claim + ack pair, median of 5 slices. Needs the server once, to capture the rows.
//
//   node bench/drain-js.bench.mjs [path/to/packages] [pairs]   (default this checkout's, 3,000)
import { fileURLToPath, pathToFileURL } from 'node:url'
import { body, scratchDatabase } from './scratch.mjs'

const packages = process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url))
const PAIRS = Number(process.argv[3] ?? 3000)
const pgStore = await import(pathToFileURL(`${packages}/postgres/dist/index.js`).href)
const { Spool } = await import(pathToFileURL(`${packages}/spool/dist/index.js`).href)
const { writeStatements } = await import(pathToFileURL(`${packages}/postgres/dist/statements.js`).href)
const sql = writeStatements('agent_comm')

/** One real claim of 100, as the driver returns it. */
async function captureRows() {
  const db = await scratchDatabase('drain_js')
  const client = pgStore.createNodePostgresClient({ url: db.url, poolSize: 1 })
  try {
    const store = await pgStore.openPostgresSpoolStore({ client, location: 'bench' })
    const spool = await Spool.open({ store })
    await spool.sendBatch(
      Array.from({ length: 100 }, (_, i) => ({
        message: { fromAgent: 'architect', toAgent: 'batch', subject: 'Task', body: `${body} (m_${i})` },
      })),
    )
    const at = Date.now()
    const rows = await client.query(sql.claim, ['batch', at, 100, at + 60_000, 'r0123456789ab'])
    await spool.close()
    return rows
  } finally {
    await client.end()
    await db.drop()
  }
}

const rows = await captureRows()
const fake = {
  async query(text, params) {
    if (text === sql.claim) return rows.map((row) => ({ ...row }))
    if (text === sql.ackAllByReceipt) return [{ n: params[4] }]
    return []
  },
  transaction: (fn) => fn(fake),
  listen: async () => async () => {},
  end: async () => {},
}
const store = new pgStore.PostgresSpoolStore({
  client: fake,
  schema: 'agent_comm',
  location: 'fake',
  ownsClient: false,
})
const spool = await Spool.open({ store })
async function pair() {
  const claimed = await spool.claim('batch', { limit: 100 })
  await spool.ackBatch(
    claimed.map((c) => ({ messageId: c.message.id, agent: 'batch', receipt: c.lease.receipt })),
  )
}
for (let i = 0; i < 500; i++) await pair() // warm-up
const slices = []
for (let k = 0; k < 5; k++) {
  const c0 = process.cpuUsage()
  for (let i = 0; i < PAIRS / 5; i++) await pair()
  const c = process.cpuUsage(c0)
  slices.push((c.user + c.system) / 1000 / (PAIRS / 5))
}
slices.sort((a, b) => a - b)
console.log(
  `${packages}: node CPU per claim(100) + ackBatch(100) pair above the driver: median ${slices[2].toFixed(3)} ms (min ${slices[0].toFixed(3)})`,
)
await spool.close()
