// Counts, in the relay process, what a benchmark's cycles cost in statements, transactions, loggers and
// answer order, for comparing two builds without timing them: `RELAY_COUNTS=out.json NODE_OPTIONS="--import
// <abs path>/bench/count-preload.mjs" node bench/profile.mjs --no-prof [--parked | --clients=16]`. It does
// nothing in any process but the relay bin (profile.mjs itself loads it too). On exit it writes, as JSON:
// each better-sqlite3 statement run by its SQL text ("stmt …"), transactions begun ("TX immediate"), pino
// child loggers made ("pino child"), and for parked rounds the send answers written before each claim
// answer since the last ack ("zz sends answered before a claim, sum" over "zz claims answered") and the
// median relay CPU (µs, user + system) from a round's first send request to each claim answer. Divide by
// the cycles run, warm-up included (profile.mjs runs 300 first).
import { createHook } from 'node:async_hooks'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'

if (process.argv[1]?.endsWith('bin.js')) {
  const counts = new Map()
  const bump = (k) => counts.set(k, (counts.get(k) ?? 0) + 1)
  const root = process.argv[1].replace(/\/apps\/relay\/dist\/bin\.js$/, '')
  const Database = createRequire(`${root}/packages/spool/package.json`)('better-sqlite3')
  const pino = createRequire(`${root}/apps/relay/package.json`)('pino')
  const pinoProto = Object.getPrototypeOf(Object.getPrototypeOf(pino({ level: 'silent' })))
  const pinoChild = pinoProto.child
  pinoProto.child = function (...args) {
    bump('pino child')
    return pinoChild.apply(this, args)
  }
  const order = []
  let roundStart
  const toClaim = []
  const cpuNow = () => {
    const u = process.cpuUsage()
    return u.user + u.system
  }
  // Promises made in the relay process (async_hooks' PROMISE resources): each is an allocation and, awaited,
  // a microtask; counted only with RELAY_COUNT_PROMISES=1, since the hook itself slows every promise.
  if (process.env.RELAY_COUNT_PROMISES === '1') {
    let promises = 0
    createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++
      },
    }).enable()
    process.on('exit', () => counts.set('promises', promises))
  }
  const emit = http.Server.prototype.emit
  http.Server.prototype.emit = function (event, req, ...rest) {
    if (event === 'request') bump('requests')
    if (event === 'request' && roundStart === undefined && req.url?.endsWith('/messages'))
      roundStart = cpuNow()
    return emit.call(this, event, req, ...rest)
  }
  const end = http.ServerResponse.prototype.end
  http.ServerResponse.prototype.end = function (...args) {
    const url = this.req?.url ?? ''
    const kind = url.endsWith('/claim')
      ? 'C'
      : url.endsWith('/messages')
        ? 'S'
        : url.endsWith('/ack')
          ? 'A'
          : 'O'
    order.push(kind)
    if (kind === 'C' && roundStart !== undefined) toClaim.push(cpuNow() - roundStart)
    if (kind === 'A') roundStart = undefined
    return end.apply(this, args)
  }
  const patched = new WeakSet()
  const prepare = Database.prototype.prepare
  Database.prototype.prepare = function (sql, ...rest) {
    const statement = prepare.call(this, sql, ...rest)
    const proto = Object.getPrototypeOf(statement)
    if (!patched.has(proto)) {
      patched.add(proto)
      for (const method of ['run', 'get', 'all', 'iterate']) {
        const original = proto[method]
        proto[method] = function (...args) {
          bump(`stmt ${this.source.replace(/\s+/g, ' ').slice(0, 90)}`)
          return original.apply(this, args)
        }
      }
    }
    return statement
  }
  const transaction = Database.prototype.transaction
  Database.prototype.transaction = function (fn) {
    const db = this
    const made = transaction.call(this, fn)
    const counted = (run, kind) =>
      function (...args) {
        if (!db.inTransaction) bump(`TX ${kind}`)
        return run.apply(this, args)
      }
    const wrapped = counted(made, 'default')
    for (const kind of ['deferred', 'immediate', 'exclusive']) wrapped[kind] = counted(made[kind], kind)
    return wrapped
  }
  process.on('exit', () => {
    let sinceAck = 0
    const before = []
    for (const kind of order) {
      if (kind === 'A') sinceAck = 0
      else if (kind === 'S') sinceAck++
      else if (kind === 'C') before.push(sinceAck)
    }
    toClaim.sort((a, b) => a - b)
    counts.set('zz claims answered', before.length)
    counts.set(
      'zz sends answered before a claim, sum',
      before.reduce((a, b) => a + b, 0),
    )
    counts.set('zz relay CPU µs from first send to claim answer, median', toClaim[toClaim.length >> 1] ?? 0)
    writeFileSync(process.env.RELAY_COUNTS ?? 'relay-counts.json', JSON.stringify(Object.fromEntries(counts)))
  })
}
