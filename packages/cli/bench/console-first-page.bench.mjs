// How soon the console's first page is usable on loopback: from navigation to the signed-in inbox listing
// its messages (the page, its script and style, the session and inbox calls, and the first render), in a
// fresh browser context each time (no cache), with Debian's Chromium driven by playwright-core, against a
// relay with its console on a temp SQLite file holding 200 messages for the person. A measurement, not a
// test: the target is 1 s.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { createRelay, SqliteNonceStore } from '@agent-comm/relay'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { chromium } from 'playwright-core'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const sorted = (values) => [...values].sort((a, b) => a - b)
const pick = (values, q) => sorted(values)[Math.min(values.length - 1, Math.floor(values.length * q))]

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-console-bench-'))
const spool = await Spool.open({ path: join(dir, 'relay.db') })
const registry = await Registry.open({ spool, releaseHeldTo: 'all-agents' })
const secrets = await SecretStore.open({ path: SecretStore.fileIn(dir) })
const { secret } = await secrets.generate('lead')
const nonces = spool.openShared(SqliteNonceStore.shared())
const app = await createRelay({ spool, registry, secrets, nonces, options: { rateLimit: false } })
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
})
try {
  await registry.register({ agentId: 'lead', metadata: { kind: 'human' } })
  for (let i = 0; i < 200; i++) {
    await spool.send(
      createMessage({ fromAgent: 'builder', toAgent: 'lead', subject: `Task ${i}`, body: `Do ${i}` }),
    )
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${app.server.address().port}`
  const times = []
  const floor = []
  const page0 = await (await fetch(`${url}/console/`)).text()
  const styleUrl = `${url}${/href="([^"]+\.css)"/.exec(page0)[1]}`
  for (let i = 0; i < RUNS + 1; i++) {
    // Signed in beforehand (a cookie from the API): the measure is the page, not typing a secret.
    const signIn = await fetch(`${url}/api/v1/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: 'lead', secret }),
    })
    const [name, value] = signIn.headers.get('set-cookie').split(';')[0].split('=')
    const { pageKey } = await signIn.json()
    const context = await browser.newContext()
    await context.addCookies([{ name, value, url }])
    // The page sends the session's page key, kept in its origin's storage when it signed in.
    await context.addInitScript((key) => localStorage.setItem('agent-comm-console-page-key', key), pageKey)
    const page = await context.newPage()
    const started = performance.now()
    await page.goto(`${url}/console/`)
    await page.locator('article.message', { hasText: 'Task 199' }).waitFor({ timeout: 60_000 })
    const elapsed = performance.now() - started
    // The floor in the same run: a fresh context navigating to one small static file of the relay.
    const bare = await context.newPage()
    const bareStarted = performance.now()
    await bare.goto(styleUrl)
    const bareElapsed = performance.now() - bareStarted
    if (i > 0) {
      // The first run warms the relay's JIT.
      times.push(elapsed)
      floor.push(bareElapsed)
    }
    await context.close()
  }
  console.log(
    `first page usable (navigation to the inbox listing 200 messages), ${RUNS} fresh contexts: ` +
      `median ${pick(times, 0.5).toFixed(0)} ms, p90 ${pick(times, 0.9).toFixed(0)} ms, max ${sorted(times).at(-1).toFixed(0)} ms; ` +
      `floor (one static file) median ${pick(floor, 0.5).toFixed(0)} ms, ratio ${(pick(times, 0.5) / pick(floor, 0.5)).toFixed(1)}x`,
  )
} finally {
  await browser.close()
  await app.close()
  await nonces.close()
  await registry.close()
  await spool.close()
  rmSync(dir, { recursive: true, force: true })
}
