// The human console in a real browser (Debian's Chromium driven by playwright-core), against a real relay
// on an ephemeral port and the real local console (`agent-comm console`, a child process). With
// SCREENSHOTS=1 the main pages are also saved to packages/console/docs/ for its README.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCoordinator, loadConfig } from '@agent-comm/coordinator'
import { type ApprovalRequestInput, createMessage, ManualClock } from '@agent-comm/protocol'
import { Registry } from '@agent-comm/registry'
import { createRelay, SqliteNonceStore } from '@agent-comm/relay'
import { SecretStore } from '@agent-comm/secrets'
import { Spool } from '@agent-comm/spool'
import { HttpTransport, RelayClient } from '@agent-comm/transport-http'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { exited, firstLine, project, spawnCli } from './helpers.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = process.env.SCREENSHOTS === '1'
const SHOT_DIR = fileURLToPath(new URL('../../console/docs/', import.meta.url))
// Generous: a fully loaded 2-core machine renders slowly. Tests wait for what they expect, never for time.
const WAIT = { timeout: 120_000 }

let browser: Browser

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  })
  if (SHOTS) mkdirSync(SHOT_DIR, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
})

async function newPage(
  options: { width?: number; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1200, height: 860 },
    colorScheme: options.dark === true ? 'dark' : 'light',
  })
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT.timeout)
  trace(page)
  return { context, page }
}

/**
 * What a page asked the relay and what it was answered, with its console and errors: printed when a test of
 * this file fails, so a page that never showed what a test waited for says why (a request unanswered, a
 * script error) instead of only "Timeout".
 */
const traces = new Map<Page, string[]>()
const relayTrace: string[] = []
function trace(page: Page): void {
  const lines: string[] = []
  traces.set(page, lines)
  const at = () => new Date().toISOString().slice(11, 23)
  page.on('request', (r) => lines.push(`${at()} -> ${r.method()} ${r.url()}`))
  page.on('response', (r) => lines.push(`${at()} <- ${r.status()} ${r.request().method()} ${r.url()}`))
  page.on('requestfailed', (r) => lines.push(`${at()} !! ${r.method()} ${r.url()} ${r.failure()?.errorText}`))
  page.on('console', (m) => lines.push(`${at()} console.${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => lines.push(`${at()} pageerror: ${e.message}`))
}

beforeEach(({ onTestFailed }) => {
  traces.clear()
  relayTrace.length = 0
  onTestFailed(async () => {
    for (const [page, lines] of traces) {
      const text = page.isClosed()
        ? '(closed)'
        : ((await page.locator('body').textContent({ timeout: 5000 }).catch(String)) ?? '')
      console.error(`page trace (${page.url()}):\n${lines.join('\n')}\npage text:\n${text.slice(0, 2000)}`)
    }
    console.error(`relay trace:\n${relayTrace.join('\n')}`)
  })
})

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: false })
}

/** A relay with its console, on a temp folder, with a clock the test moves. */
interface E2eRelay {
  app: Awaited<ReturnType<typeof createRelay>>
  url: string
  clock: ManualClock
  spool: Spool
  registry: Registry
  secrets: Record<string, string>
  client: RelayClient
  close(): Promise<void>
}

async function startRelay(): Promise<E2eRelay> {
  // Kept for the whole describe block (the helpers' temp folders go after each test).
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-console-e2e-'))
  const clock = new ManualClock(Date.now())
  const spool = await Spool.open({ path: join(dir, 'relay.db'), clock })
  const registry = await Registry.open({ spool, clock, releaseHeldTo: 'all-agents' })
  const store = await SecretStore.open({ path: SecretStore.fileIn(dir), clock })
  const secrets: Record<string, string> = {}
  for (const agent of ['lead', 'reviewer', 'builder', 'admin'])
    secrets[agent] = (await store.generate(agent)).secret
  const nonces = spool.openShared(SqliteNonceStore.shared({ clock }))
  const app = await createRelay({
    spool,
    registry,
    secrets: store,
    nonces,
    clock,
    options: {
      rateLimit: false,
      console: { sweepIntervalMs: 100 },
      // The relay shares this test's event loop, and so its pauses (the agent's coordinator opening its
      // database, a module loaded on first use): on a loaded machine two late seconds in a row made the relay
      // shed the first console page load (503, no sign-in form). Its load is not the relay's; shedding has
      // its own tests (apps/relay/test/overload.test.ts).
      overload: { maxEventLoopDelayMs: 0 },
    },
  })
  // What the relay was asked and answered, printed with the pages' traces when a test fails.
  app.addHook('onRequest', async (request) => {
    relayTrace.push(`${new Date().toISOString().slice(11, 23)} relay <- ${request.method} ${request.url}`)
  })
  app.addHook('onResponse', async (request, reply) => {
    relayTrace.push(
      `${new Date().toISOString().slice(11, 23)} relay -> ${reply.statusCode} ${request.method} ${request.url} (${reply.elapsedTime.toFixed(0)} ms)`,
    )
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const client = new RelayClient({ baseUrl: url, secretFor: (id) => secrets[id], clock })
  await registry.register({ agentId: 'lead', capabilities: ['approve'], metadata: { kind: 'human' } })
  await registry.register({ agentId: 'reviewer', capabilities: ['human-review'] })
  await registry.register({ agentId: 'builder', capabilities: ['code'] })
  return {
    app,
    url,
    clock,
    spool,
    registry,
    secrets,
    client,
    close: async () => {
      await client.close()
      await app.close()
      await nonces.close()
      await registry.close()
      await spool.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function signIn(page: Page, relay: E2eRelay, agentId: string): Promise<void> {
  await page.goto(`${relay.url}/console/`)
  await page.getByLabel('Agent id').fill(agentId)
  await page.getByLabel('Relay secret').fill(relay.secrets[agentId]!)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('who').filter({ hasText: agentId }).waitFor(WAIT)
}

/** Sends an approval request from builder to `to` through the relay, as an agent would. */
async function askApproval(relay: E2eRelay, to: string, data: ApprovalRequestInput, subject: string) {
  const message = createMessage(
    {
      fromAgent: 'builder',
      toAgent: to,
      subject,
      body: 'Waiting for a human decision',
      payload: { type: 'approval_request', data },
    },
    { clock: relay.clock },
  )
  await relay.client.send(message)
  return message
}

/** Waits (long-polling the relay) for builder's reply to `requestId`; acks and returns it. */
async function replyTo(relay: E2eRelay, requestId: string) {
  for (;;) {
    const claimed = await relay.client.claim('builder', { limit: 10, waitMs: 5000 })
    for (const { message, lease } of claimed) {
      await relay.client.ack(message.id, 'builder', { receipt: lease.receipt })
      if (message.routing.replyTo === requestId) return message
    }
  }
}

describe('the console on a relay', () => {
  let relay: E2eRelay
  beforeAll(async () => {
    relay = await startRelay()
  })
  afterAll(async () => {
    await relay?.close()
  })

  it("approves a request with a comment and edited arguments; the agent's request() resolves with the decision", async () => {
    // The agent is behind the relay: its own coordinator (own database) reaches builder and lead over HTTP,
    // and waits with request(), which long-polls the relay's reply-claim route for this request's reply.
    const agentDir = mkdtempSync(join(tmpdir(), 'agent-comm-console-agent-'))
    const agent = await createCoordinator(
      loadConfig({}, { overrides: { dbPath: join(agentDir, 'agent.db') } }),
      {
        clock: relay.clock,
        http: () => new HttpTransport({ client: relay.client }),
      },
    )
    try {
      for (const agentId of ['builder', 'lead'])
        await agent.register({ agentId, transport: 'http', relayUrl: relay.url })
      const request = createMessage(
        {
          fromAgent: 'builder',
          toAgent: 'lead',
          subject: 'Deploy v2.4',
          body: 'Waiting for a human decision',
          payload: {
            type: 'approval_request',
            data: {
              question: 'Deploy v2.4 to production?',
              action: { name: 'deploy', arguments: { env: 'production', version: '2.4.0' } },
              deadline: new Date(relay.clock.now() + 3_600_000).toISOString(),
            },
          },
        },
        { clock: relay.clock },
      )
      const answered = agent.request(request, { timeoutMs: WAIT.timeout * 2 })
      // Observed now so a rejection while the page works is not reported as unhandled.
      answered.catch(() => undefined)
      const { context, page } = await newPage()
      await signIn(page, relay, 'lead')
      await page.getByRole('link', { name: 'Approvals' }).click()
      const card = page.locator(`[data-request-id="${request.id}"]`)
      await card.getByText('Deploy v2.4 to production?').waitFor(WAIT)
      await card.getByText(/deadline/).waitFor(WAIT)
      await shot(page, 'approvals')
      await card.getByLabel(/arguments/).fill('{"env": "staging", "version": "2.4.0"}')
      await card.getByLabel(/Comment/).fill('Staging first, please')
      await card.getByRole('button', { name: 'Approve' }).click()
      await card.waitFor({ state: 'detached', ...WAIT })
      const reply = await answered
      expect(reply.routing.replyTo).toBe(request.id)
      expect(reply.payload).toMatchObject({
        type: 'approval_response',
        data: {
          decision: 'approve',
          comment: 'Staging first, please',
          decidedBy: 'lead',
          arguments: { env: 'staging', version: '2.4.0' },
        },
      })
      // request() acked the reply it took: nothing of it is left for builder.
      expect((await relay.spool.pending('builder')).map((p) => p.message.id)).not.toContain(reply.id)
      await page.getByRole('table', { name: 'Audit log' }).getByText('Staging first, please').waitFor(WAIT)
      await context.close()
    } finally {
      await agent.close()
      rmSync(agentDir, { recursive: true, force: true })
    }
  })

  it('denies a request with a comment that goes back to the agent', async () => {
    const request = await askApproval(relay, 'lead', { question: 'Drop the staging database?' }, 'Drop db')
    const { context, page } = await newPage()
    await signIn(page, relay, 'lead')
    await page.getByRole('link', { name: 'Approvals' }).click()
    const card = page.locator(`[data-request-id="${request.id}"]`)
    await card.getByLabel(/Comment/).fill('No: it holds the demo data')
    await card.getByRole('button', { name: 'Deny' }).click()
    await card.waitFor({ state: 'detached', ...WAIT })
    const reply = await replyTo(relay, request.id)
    expect(reply.payload?.data).toMatchObject({
      decision: 'deny',
      comment: 'No: it holds the demo data',
      decidedBy: 'lead',
    })
    await context.close()
  })

  it('applies the expiry policy when a deadline passes with nobody deciding', async () => {
    const deadline = new Date(relay.clock.now() + 60_000).toISOString()
    const request = await askApproval(
      relay,
      'lead',
      { question: 'Rotate the keys?', deadline, onExpiry: 'approve' },
      'Keys',
    )
    const { context, page } = await newPage()
    await signIn(page, relay, 'lead')
    await page.getByRole('link', { name: 'Approvals' }).click()
    const card = page.locator(`[data-request-id="${request.id}"]`)
    await card.waitFor(WAIT)
    relay.clock.advance(61_000)
    const reply = await replyTo(relay, request.id)
    expect(reply.payload?.data).toMatchObject({
      decision: 'approve',
      decidedBy: 'system:expiry',
      expired: true,
    })
    // The page follows the relay's event stream: the expired request leaves the queue without a reload.
    await card.waitFor({ state: 'detached', ...WAIT })
    await context.close()
  })

  it('retries a dead letter from the operator page, showing its last error', async () => {
    const message = createMessage(
      { fromAgent: 'lead', toAgent: 'builder', subject: 'Build', body: 'build it' },
      { clock: relay.clock },
    )
    await relay.spool.send(message)
    const [claimed] = await relay.spool.claim('builder')
    await relay.spool.nack(message.id, 'builder', {
      receipt: claimed!.lease.receipt,
      reason: 'compiler crashed',
      deadLetter: true,
    })
    const { context, page } = await newPage()
    await signIn(page, relay, 'admin')
    await page.getByRole('link', { name: 'Dead letters' }).click()
    const card = page.locator(`[data-message-id="${message.id}"]`)
    await card.getByText('compiler crashed').waitFor(WAIT)
    await shot(page, 'dead-letters')
    await card.getByRole('button', { name: 'Retry' }).click()
    await card.waitFor({ state: 'detached', ...WAIT })
    const pending = await relay.spool.pending('builder')
    expect(pending.map((p) => [p.message.id, p.delivery.status])).toContainEqual([message.id, 'queued'])
    await page.getByRole('link', { name: 'Overview' }).click()
    await page.getByText('Failure rate').waitFor(WAIT)
    await shot(page, 'overview')
    await page.getByRole('link', { name: 'Agents' }).click()
    await page.getByRole('table', { name: 'Agents' }).getByText('human-review').waitFor(WAIT)
    await shot(page, 'agents')
    await context.close()
  })

  it('refuses a state change without the CSRF token, and keeps one human out of another’s inbox', async () => {
    await relay.spool.send(
      createMessage({ fromAgent: 'builder', toAgent: 'lead', subject: 'Private', body: 'for lead only' }),
    )
    const { context, page } = await newPage()
    await signIn(page, relay, 'reviewer')
    // Sent from the page itself, with the session's page key (from the origin's storage) but no CSRF token.
    const key = String(await page.evaluate("localStorage.getItem('agent-comm-console-page-key')"))
    const forged = await page.evaluate(async (pageKey) => {
      const response = await fetch('/api/v1/console/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-console-key': pageKey },
        body: JSON.stringify({ to: 'builder', body: 'forged' }),
      })
      return { status: response.status, body: (await response.json()) as { error: { code: string } } }
    }, key)
    expect(forged.status).toBe(403)
    expect(forged.body.error.code).toBe('CSRF_REJECTED')
    const inbox = await page.evaluate(
      async (pageKey) =>
        (await (
          await fetch('/api/v1/console/inbox', { headers: { 'x-console-key': pageKey } })
        ).json()) as unknown,
      key,
    )
    expect(inbox).toEqual({ items: [], more: false })
    await page.getByRole('heading', { name: 'Inbox' }).waitFor(WAIT)
    expect(await page.getByText('for lead only').count()).toBe(0)
    await context.close()
  })

  it('retries several dead letters at once with "Retry selected"', async () => {
    const ids: string[] = []
    for (const subject of ['Lint', 'Package']) {
      const message = createMessage(
        { fromAgent: 'lead', toAgent: 'builder', subject, body: `${subject} it` },
        { clock: relay.clock },
      )
      await relay.spool.send(message)
      const claimed = await relay.spool.claimMessage('builder', message.id)
      await relay.spool.nack(message.id, 'builder', {
        receipt: claimed!.lease.receipt,
        reason: `${subject} tool missing`,
        deadLetter: true,
      })
      ids.push(message.id)
    }
    const { context, page } = await newPage()
    await signIn(page, relay, 'admin')
    await page.getByRole('link', { name: 'Dead letters' }).click()
    for (const id of ids) {
      const card = page.locator(`[data-message-id="${id}"]`)
      await card.getByText('tool missing', { exact: false }).waitFor(WAIT)
      await card.getByRole('checkbox').check()
    }
    await page.getByRole('button', { name: 'Retry selected (2)' }).click()
    for (const id of ids)
      await page.locator(`[data-message-id="${id}"]`).waitFor({ state: 'detached', ...WAIT })
    const pending = await relay.spool.pending('builder')
    for (const id of ids) {
      expect(pending.map((p) => [p.message.id, p.delivery.status])).toContainEqual([id, 'queued'])
    }
    await context.close()
  })

  it('sends a new message from the New-message form', async () => {
    const { context, page } = await newPage()
    await signIn(page, relay, 'lead')
    const form = page.getByRole('form', { name: 'New message' })
    await form.getByLabel('To (agent id or capability:name)').fill('builder')
    await form.getByLabel('Subject').fill('Release notes')
    await form.getByLabel('Message').fill('Please draft the release notes for v2')
    await form.getByRole('button', { name: 'Send' }).click()
    await expect
      .poll(async () => (await relay.spool.pending('builder')).map((p) => p.message), WAIT)
      .toContainEqual(
        expect.objectContaining({
          fromAgent: 'lead',
          subject: 'Release notes',
          body: 'Please draft the release notes for v2',
        }),
      )
    await context.close()
  })

  it('exports the audit log as JSON: every decision, with who made it', async () => {
    const request = await askApproval(relay, 'lead', { question: 'Rotate the keys?' }, 'Keys')
    const { context, page } = await newPage()
    await signIn(page, relay, 'lead')
    await page.getByRole('link', { name: 'Approvals' }).click()
    const card = page.locator(`[data-request-id="${request.id}"]`)
    await card.getByRole('button', { name: 'Deny' }).click()
    await page.getByRole('table', { name: 'Audit log' }).getByText('Rotate the keys?').waitFor(WAIT)
    const [download] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.getByRole('button', { name: 'Export JSON' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('approval-audit.json')
    const path = await download.path()
    const entries = JSON.parse(readFileSync(path, 'utf8')) as { requestId: string; decidedBy: string }[]
    expect(entries).toContainEqual(
      expect.objectContaining({
        requestId: request.id,
        decision: 'deny',
        decidedBy: 'lead',
        requester: 'builder',
      }),
    )
    await context.close()
  })

  it('shows bidi controls as visible escapes, shows the request context, and wraps long words at 360 px', async () => {
    const RLO = '\u202e'
    const PDF = '\u202c'
    await relay.spool.send(
      createMessage(
        {
          fromAgent: 'builder',
          toAgent: 'lead',
          subject: `Invoice ${RLO}gnp.exe${PDF} ${'W'.repeat(150)}`,
          body: `Open ${RLO}gnp.exe${PDF} now`,
        },
        { clock: relay.clock },
      ),
    )
    const request = await askApproval(
      relay,
      'lead',
      {
        question: `Run ${RLO}gnp.exe${PDF}?`,
        action: { name: `run${RLO}exe`, arguments: { file: `${RLO}gnp.exe${PDF}` } },
        context: { diff: 'DIFF-MARKER -rm everything' },
      },
      'Run it',
    )
    const { context, page } = await newPage({ width: 360 })
    await signIn(page, relay, 'lead')
    const message = page.locator('article.message', { hasText: 'Invoice' })
    await message.waitFor(WAIT)
    // The stored order is what a person reads: the override is shown, not obeyed.
    expect(await message.locator('h3').textContent()).toContain('Invoice \\u202egnp.exe\\u202c')
    expect(await message.locator('.body').textContent()).toBe('Open \\u202egnp.exe\\u202c now')
    // A 200-letter word wraps inside its card: the page does not scroll sideways on a phone.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360)
    await page.getByRole('link', { name: 'Approvals' }).click()
    const card = page.locator(`[data-request-id="${request.id}"]`)
    await card.getByTestId('approval-context').getByText('DIFF-MARKER -rm everything').waitFor(WAIT)
    expect(await card.locator('h3').textContent()).toBe('Run \\u202egnp.exe\\u202c?')
    expect(await card.locator('code').textContent()).toBe('run\\u202eexe')
    expect(await card.getByLabel(/arguments/).inputValue()).toContain('"\\u202egnp.exe\\u202c"')
    // The live character is nowhere on the page (the evaluated text spells it as an escape).
    expect(await page.evaluate("document.body.textContent.includes('\\u202e')")).toBe(false)
    // Approved as shown: the escaped JSON is the same arguments, so none count as edited.
    await card.getByRole('button', { name: 'Approve' }).click()
    const reply = await replyTo(relay, request.id)
    expect(reply.payload?.data).toMatchObject({ decision: 'approve', decidedBy: 'lead' })
    expect(reply.payload?.data).not.toHaveProperty('arguments')
    await context.close()
  })

  it('tells a person whose decision came second what was decided, by whom, and that theirs was not applied', async () => {
    const request = await askApproval(relay, 'lead', { question: 'Wire $10,000?' }, 'Wire')
    const { context, page } = await newPage()
    // No live updates on this page: the card stays while someone else decides, as between two refreshes.
    await page.route('**/api/v1/console/stream', (route) => route.abort())
    await signIn(page, relay, 'lead')
    await page.getByRole('link', { name: 'Approvals' }).click()
    const card = page.locator(`[data-request-id="${request.id}"]`)
    await card.waitFor(WAIT)
    // The operator decides first, in another browser.
    const other = await newPage()
    await signIn(other.page, relay, 'admin')
    await other.page.getByRole('link', { name: 'Approvals' }).click()
    await other.page
      .locator(`[data-request-id="${request.id}"]`)
      .getByRole('button', { name: 'Approve' })
      .click()
    await other.page.getByRole('table', { name: 'Audit log' }).getByText('Wire $10,000?').waitFor(WAIT)
    await other.context.close()
    await card.getByRole('button', { name: 'Deny' }).click()
    const notice = page.getByTestId('late-decision')
    await notice.waitFor(WAIT)
    expect(await notice.textContent()).toMatch(
      /Already decided: approve by admin at .+; your Deny was not applied\./,
    )
    expect(await notice.textContent()).toContain('Wire $10,000?')
    await card.waitFor({ state: 'detached', ...WAIT })
    const reply = await replyTo(relay, request.id)
    expect(reply.payload?.data).toMatchObject({ decision: 'approve', decidedBy: 'admin' })
    await context.close()
  })

  it('returns to the sign-in form when the session ended in another tab: on any request, and on Sign out', async () => {
    const { context, page } = await newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await signIn(page, relay, 'lead')
    const signOutIn = async (tab: Page) => {
      await tab.goto(`${relay.url}/console/`)
      await tab.getByTestId('who').filter({ hasText: 'lead' }).waitFor(WAIT)
      await tab.getByRole('button', { name: 'Sign out' }).click()
      await tab.getByRole('button', { name: 'Sign in' }).waitFor(WAIT)
    }
    const second = await context.newPage()
    await signOutIn(second)
    // The first tab's next request finds no session: the sign-in form comes back, saying why.
    await page.getByRole('link', { name: 'Approvals' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor(WAIT)
    await page.getByRole('alert').getByText('Your session ended, sign in again.').waitFor(WAIT)
    // Signed in again, and out again in the other tab: Sign out here still signs out.
    await page.getByLabel('Agent id').fill('lead')
    await page.getByLabel('Relay secret').fill(relay.secrets.lead!)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('who').filter({ hasText: 'lead' }).waitFor(WAIT)
    await signOutIn(second)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor(WAIT)
    expect(await page.getByText('X-Agent-ID').count()).toBe(0)
    expect(pageErrors).toEqual([])
    await context.close()
  })

  // Last in this block: it moves the relay's clock past the oldest-queued threshold.
  it('highlights the metrics over their alert thresholds on the Overview', async () => {
    await relay.spool.send(
      createMessage(
        { fromAgent: 'lead', toAgent: 'builder', subject: 'Waiting', body: 'still queued' },
        { clock: relay.clock },
      ),
    )
    const { context, page } = await newPage()
    await signIn(page, relay, 'admin')
    relay.clock.advance(6 * 60_000)
    await page.getByRole('link', { name: 'Overview' }).click()
    const oldest = page.locator('[data-metric="Oldest queued"]')
    await oldest.getByText('over threshold').waitFor(WAIT)
    expect(await oldest.getAttribute('class')).toContain('alert')
    // A metric under its threshold is not highlighted.
    expect(await page.locator('[data-metric="Leased"]').getAttribute('class')).not.toContain('alert')
    await context.close()
  })
})

describe('the local console (agent-comm console)', () => {
  it('signs in with the one-time link, shows a CLI message live, replies to the agent, and renders hostile bodies inert', async () => {
    const p = project()
    await p.ok(['register', 'lead', '-c', 'human-review', '-d', 'local', '--create'])
    await p.ok(['register', 'builder', '-c', 'code', '-d', 'local'])
    const child = spawnCli(['console', '--port', '0', '--as', 'lead', '--json'], { cwd: p.dir, env: p.env })
    try {
      const { loginUrl } = JSON.parse(await firstLine(child)) as { url: string; loginUrl: string }
      const { context, page } = await newPage()
      await page.goto(loginUrl)
      await page.getByTestId('who').filter({ hasText: 'lead' }).waitFor(WAIT)
      // The token works once: a second browser with the same link is not signed in.
      const other = await newPage()
      await other.page.goto(loginUrl)
      await other.page.getByRole('button', { name: 'Sign in' }).waitFor(WAIT)
      await other.context.close()

      // A message sent with the CLI appears without a reload.
      await p.ok(['send', 'builder', 'lead', 'The build is green: ship it?', '-s', 'Build 812'])
      const card = page.locator('article.message', { hasText: 'Build 812' })
      await card.waitFor(WAIT)
      // Hostile bodies are text: no element is created, no script runs, no link is followed.
      await p.ok([
        'send',
        'builder',
        'lead',
        '<img src=x onerror="window.__xss=1"><a href="javascript:window.__xss=2">click me</a>',
        '-s',
        'Hostile',
      ])
      const hostile = page.locator('article.message', { hasText: 'Hostile' })
      await hostile.getByText('<img src=x onerror="window.__xss=1">', { exact: false }).waitFor(WAIT)
      expect(await hostile.locator('img, a').count()).toBe(0)
      expect(await page.evaluate('typeof window.__xss')).toBe('undefined')
      await shot(page, 'inbox')

      // Open, reply, done: the reply reaches the agent's poll.
      await card.getByRole('button', { name: 'Open' }).click()
      await card.getByRole('textbox', { name: 'Reply' }).fill('Ship it after lunch')
      await card.getByRole('button', { name: 'Send reply' }).click()
      await card.getByRole('button', { name: 'Done' }).click()
      await card.waitFor({ state: 'detached', ...WAIT })
      const polled = JSON.parse((await p.ok(['poll', 'builder', '--json'])).stdout) as unknown
      expect(JSON.stringify(polled)).toContain('Ship it after lunch')

      // Threads and search, reached with the keyboard (g then t).
      await page.locator('body').focus()
      await page.keyboard.press('g')
      await page.keyboard.press('t')
      await page.getByRole('heading', { name: 'Threads' }).waitFor(WAIT)
      await page.getByLabel('Search messages').fill('green')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.getByRole('list', { name: 'Search results' }).getByText('Build 812').waitFor(WAIT)
      await shot(page, 'threads')
      if (SHOTS) {
        // The same session on a phone-width screen in dark mode.
        const phone = await context.newPage()
        await phone.setViewportSize({ width: 390, height: 800 })
        await phone.emulateMedia({ colorScheme: 'dark' })
        await phone.goto(page.url().replace(/#.*$/, '#/inbox'))
        await phone.getByRole('heading', { name: 'Inbox' }).waitFor(WAIT)
        await shot(phone, 'inbox-phone-dark')
      }
      await context.close()
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })
})

if (!existsSync(CHROMIUM)) {
  throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`)
}
