import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { relayConfig, startRelay } from '@agent-comm/relay'

const dataDir = mkdtempSync(join(tmpdir(), 'agent-comm-relay-')) // its database and secrets.json
const relay = await startRelay(relayConfig({ dataDir, port: 0, logLevel: 'warn' })) // port 0: any free port
const health = (await (await fetch(`${relay.url}/api/v1/health`)).json()) as { status: string }
console.log(`relay at ${relay.url}: ${health.status}`)
await relay.close() // stop accepting, end long polls, finish requests, close the database
