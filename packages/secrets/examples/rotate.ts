import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SecretStore } from '@agent-comm/secrets'

// The relay's secret file in its data folder (what `agent-comm relay gen-secret builder` writes to).
const store = await SecretStore.open({ path: SecretStore.fileIn(mkdtempSync(join(tmpdir(), 'relay-'))) })
const first = await store.generate('builder')

// A rotation: the new secret works at once, the old one for a grace period (an hour here), then stops.
const second = await store.rotate('builder', { graceSeconds: 3600 })
const works = store.secretsFor('builder')
console.log(`old works: ${works.includes(first.secret)}, new works: ${works.includes(second.secret)}`)

const [info] = await store.list() // dates, never the secrets
console.log(`${info?.agentId}: ${info?.activeSecrets} active secrets`)

await store.revoke('builder')
console.log(`after revoke: ${store.has('builder')}`)
