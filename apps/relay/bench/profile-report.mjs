// Prints inclusive ("total") and self time of a .cpuprofile's functions, idle and start-up excluded:
// `node bench/profile-report.mjs <file.cpuprofile> [filter]`. Start-up is everything sampled before the
// first request (the first sample under fastify's router).
import { readFileSync } from 'node:fs'

const [file, filter] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const label = (n) => {
  const f = n.callFrame
  const where = f.url
    .replace(/^.*node_modules\/\.pnpm\/([^/@]*@?[^/@]+)@[^/]+\/.*$/, '$1')
    .replace(/^.*\/(packages|apps)\//, '$1/')
    .replace(/^file:\/\//, '')
  return `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`
}
const total = new Map()
const self = new Map()
let busy = 0
let started = false
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0
  let id = profile.samples[i]
  const leaf = byId.get(id)
  if (!started) {
    let p = id
    while (p !== undefined) {
      if (byId.get(p).callFrame.url.includes('find-my-way')) started = true
      p = parent.get(p)
    }
    if (!started) continue
  }
  const name = leaf.callFrame.functionName
  if (name === '(idle)' || name === '(program)') continue
  busy += dt
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt)
  const seen = new Set()
  while (id !== undefined) {
    const l = label(byId.get(id))
    if (!seen.has(l)) {
      seen.add(l)
      total.set(l, (total.get(l) ?? 0) + dt)
    }
    id = parent.get(id)
  }
}
const show = (m, n) => {
  const rows = [...m].filter(([k]) => filter === undefined || k.includes(filter)).sort((a, b) => b[1] - a[1])
  for (const [k, us] of rows.slice(0, n)) console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}`)
}
console.log(`busy ${(busy / 1000).toFixed(0)} ms after start-up\n-- total --`)
show(total, 70)
console.log('-- self --')
show(self, 40)
