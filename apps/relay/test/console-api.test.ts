import type { MessageV2 } from '@agent-comm/protocol'
import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it, vi } from 'vitest'
import { errorOf, startTestRelay, type TestRelay } from './helpers.js'

/** Signs `agentId` in with its secret through `inject`; returns the cookie, CSRF token and page key. */
async function signIn(
  relay: TestRelay,
  agentId: string,
): Promise<{ cookie: string; csrf: string; key: string }> {
  const response = await relay.app.inject({
    method: 'POST',
    url: '/api/v1/console/session',
    payload: { agentId, secret: relay.secrets[agentId] },
  })
  expect(response.statusCode).toBe(200)
  const setCookie = String(response.headers['set-cookie'])
  expect(setCookie).toMatch(/HttpOnly/)
  expect(setCookie).toMatch(/SameSite=Strict/)
  return { cookie: setCookie.split(';')[0]!, csrf: response.json().csrfToken, key: response.json().pageKey }
}

function asSession(relay: TestRelay, who: { cookie: string; csrf?: string; key?: string }) {
  return (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    relay.app.inject({
      method,
      url,
      headers: {
        cookie: who.cookie,
        ...(who.key === undefined ? {} : { 'x-console-key': who.key }),
        ...(who.csrf === undefined ? {} : { 'x-csrf-token': who.csrf }),
      },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
}

async function humans(relay: TestRelay): Promise<void> {
  await relay.registry.register({ agentId: 'lead', metadata: { kind: 'human' } })
  await relay.registry.register({ agentId: 'reviewer', capabilities: ['human-review'] })
  await relay.registry.register({ agentId: 'builder', capabilities: ['code'] })
}

function approvalRequest(relay: TestRelay, to: string, data: Record<string, unknown>): MessageV2 {
  return createMessage(
    {
      fromAgent: 'builder',
      toAgent: to,
      subject: 'Deploy?',
      body: 'May I deploy?',
      payload: { type: 'approval_request', data: { question: 'Deploy v2 to production?', ...data } },
    },
    { clock: relay.clock },
  )
}

describe('the console API', () => {
  it('signs in only people: human agents and the admin, never an agent that is not one', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    await signIn(relay, 'lead')
    await signIn(relay, 'reviewer')
    await signIn(relay, 'admin')
    const refused = await relay.app.inject({
      method: 'POST',
      url: '/api/v1/console/session',
      payload: { agentId: 'builder', secret: relay.secrets.builder },
    })
    expect(refused.statusCode).toBe(401)
    const wrong = await relay.app.inject({
      method: 'POST',
      url: '/api/v1/console/session',
      payload: { agentId: 'lead', secret: 'not-the-secret-of-lead' },
    })
    expect(wrong.statusCode).toBe(401)
  })

  it('limits failed sign-ins per address: after 20, even the right secret waits', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const attempt = (secret: string) =>
      relay.app.inject({
        method: 'POST',
        url: '/api/v1/console/session',
        payload: { agentId: 'lead', secret },
      })
    for (let i = 0; i < 20; i++) expect((await attempt(`wrong-secret-${i}`)).statusCode).toBe(401)
    const limited = await attempt(relay.secrets.lead!)
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBeDefined()
    relay.clock.advance(61_000)
    expect((await attempt(relay.secrets.lead!)).statusCode).toBe(200)
  })

  it('refuses a state change without the session CSRF token, and signs out', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    const withoutToken = await asSession(relay, { cookie: lead.cookie, key: lead.key })(
      'POST',
      '/api/v1/console/messages',
      {
        to: 'builder',
        body: 'hello',
      },
    )
    expect(withoutToken.statusCode).toBe(403)
    expect(withoutToken.json().error.code).toBe('CSRF_REJECTED')
    const withToken = await asSession(relay, lead)('POST', '/api/v1/console/messages', {
      to: 'builder',
      body: 'hello',
    })
    expect(withToken.statusCode).toBe(200)
    expect((await relay.spool.pending('builder')).map((p) => p.message.body)).toEqual(['hello'])
    expect((await asSession(relay, lead)('DELETE', '/api/v1/console/session')).statusCode).toBe(204)
    expect((await asSession(relay, lead)('GET', '/api/v1/console/inbox')).statusCode).toBe(401)
  })

  it("shows a human its own inbox only, and never another human's messages", async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const forLead = createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'for lead only' })
    await relay.spool.send(forLead)
    const reviewer = asSession(relay, await signIn(relay, 'reviewer'))
    expect((await reviewer('GET', '/api/v1/console/inbox')).json().items).toEqual([])
    expect((await reviewer('GET', `/api/v1/messages/${forLead.id}`)).statusCode).toBe(404)
    expect((await reviewer('GET', '/api/v1/console/search?text=lead')).json().messages).toEqual([])
    const lead = asSession(relay, await signIn(relay, 'lead'))
    expect((await lead('GET', '/api/v1/console/inbox')).json().items).toHaveLength(1)
  })

  it('opens one message only, leases it for minutes, and acks it when done', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const urgent = createMessage({
      fromAgent: 'builder',
      toAgent: 'lead',
      body: 'urgent',
      priority: 'urgent',
    })
    const older = createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'older' })
    const wanted = createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'wanted' })
    for (const m of [urgent, older, wanted]) await relay.spool.send(m)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    expect((await lead('POST', `/api/v1/console/inbox/${wanted.id}/open`)).statusCode).toBeLessThan(300)
    const statuses = async () =>
      Object.fromEntries((await relay.spool.pending('lead')).map((p) => [p.message.body, p.delivery.status]))
    // The messages ahead of it in claim order stay queued: opening one leases that one only.
    expect(await statuses()).toEqual({ urgent: 'queued', older: 'queued', wanted: 'leased' })
    const [leased] = (await relay.spool.status(wanted.id)).deliveries
    const leaseMs = Date.parse(String(leased?.leaseUntil)) - relay.clock.now()
    expect(leaseMs).toBeGreaterThan(60_000)
    expect(leaseMs).toBeLessThanOrEqual(15 * 60_000)
    // Closed without "done": the lease runs out and the message can be opened again.
    relay.clock.advance(leaseMs + 1)
    expect((await lead('POST', `/api/v1/console/inbox/${wanted.id}/open`)).statusCode).toBeLessThan(300)
    expect((await relay.spool.status(wanted.id)).deliveries[0]).toMatchObject({
      status: 'leased',
      attempt: 2,
    })
    expect((await lead('POST', `/api/v1/console/inbox/${older.id}/done`)).statusCode).toBeLessThan(300)
    expect(await statuses()).toEqual({ urgent: 'queued', wanted: 'leased' })
  })

  it('sends a change event on the stream when a message arrives for the signed-in person', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    const abort = new AbortController()
    const response = await fetch(`${relay.url}/api/v1/console/stream`, {
      headers: { cookie: lead.cookie, 'x-console-key': lead.key },
      signal: abort.signal,
    })
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const changes = () => text.split('event: change').length - 1
    const readUntil = async (count: number) => {
      while (changes() < count) {
        const { value, done } = await reader.read()
        if (done) throw new Error('the stream ended')
        text += value
      }
    }
    // Each message for lead changes its inbox: the relay's own write wakes the stream.
    await relay.spool.send(createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'first' }))
    await readUntil(1)
    await relay.spool.send(createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'second' }))
    await readUntil(2)
    abort.abort()
    await reader.cancel().catch(() => undefined)
  })

  it('decides an approval once: the first decision wins and goes back to the requester as a reply', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const request = approvalRequest(relay, 'lead', { action: { name: 'deploy', arguments: { env: 'prod' } } })
    await relay.spool.send(request)
    const lead = signIn(relay, 'lead')
    const session = asSession(relay, await lead)
    const listed = (await session('GET', '/api/v1/console/approvals')).json().approvals
    expect(listed.map((a: { requestId: string }) => a.requestId)).toEqual([request.id])
    const first = await session('POST', `/api/v1/console/approvals/${request.id}/decision`, {
      decision: 'approve',
      comment: 'go ahead',
      arguments: { env: 'staging' },
    })
    expect(first.json()).toMatchObject({ first: true, response: { decision: 'approve', decidedBy: 'lead' } })
    const admin = asSession(relay, await signIn(relay, 'admin'))
    const second = await admin('POST', `/api/v1/console/approvals/${request.id}/decision`, {
      decision: 'deny',
    })
    expect(second.json()).toMatchObject({
      first: false,
      response: { decision: 'approve', decidedBy: 'lead' },
    })
    const [reply] = await relay.spool.claim('builder')
    expect(reply?.message.routing.replyTo).toBe(request.id)
    expect(reply?.message.payload).toMatchObject({
      type: 'approval_response',
      data: { decision: 'approve', comment: 'go ahead', decidedBy: 'lead', arguments: { env: 'staging' } },
    })
    expect((await session('GET', '/api/v1/console/approvals')).json().approvals).toEqual([])
    const audit = (await admin('GET', '/api/v1/console/approvals/audit')).json().entries
    expect(audit).toMatchObject([
      { requestId: request.id, decision: 'approve', decidedBy: 'lead', question: 'Deploy v2 to production?' },
    ])
  })

  it('threads a reply from the composer or an approval decision with one Re: prefix, never Re: Re:', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const request = { ...approvalRequest(relay, 'lead', {}), subject: 'Re: Deploy?' }
    const question = createMessage({ fromAgent: 'builder', toAgent: 'lead', subject: 'Ready', body: '?' })
    for (const m of [request, question]) await relay.spool.send(m)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    const decided = await lead('POST', `/api/v1/console/approvals/${request.id}/decision`, {
      decision: 'approve',
    })
    expect(decided.statusCode).toBe(200)
    const composed = await lead('POST', '/api/v1/console/messages', { replyTo: question.id, body: 'yes' })
    expect(composed.statusCode).toBeLessThan(300)
    const replies = (await relay.spool.claim('builder', { limit: 10 })).map((c) => ({
      subject: c.message.subject,
      replyTo: c.message.routing.replyTo,
      conversationId: c.message.routing.conversationId,
    }))
    expect(replies).toEqual(
      expect.arrayContaining([
        { subject: 'Re: Deploy?', replyTo: request.id, conversationId: request.routing.conversationId },
        { subject: 'Re: Ready', replyTo: question.id, conversationId: question.routing.conversationId },
      ]),
    )
    expect(replies).toHaveLength(2)
  })

  it('applies expiry policies when deadlines pass: deny, approve, and escalate to another human', async () => {
    const relay = await startTestRelay({ options: { console: { sweepIntervalMs: 20 } } })
    await humans(relay)
    const deadline = new Date(relay.clock.now() + 60_000).toISOString()
    const deny = approvalRequest(relay, 'lead', { deadline, onExpiry: 'deny' })
    const approve = approvalRequest(relay, 'lead', { deadline, onExpiry: 'approve' })
    const escalate = approvalRequest(relay, 'lead', { deadline, onExpiry: { escalateTo: 'reviewer' } })
    for (const m of [deny, approve, escalate]) await relay.spool.send(m)
    relay.clock.advance(61_000)
    const decisions = new Map<string, unknown>()
    await expect
      .poll(async () => {
        for (const c of await relay.spool.claim('builder', { limit: 10 })) {
          decisions.set(c.message.routing.replyTo ?? '', c.message.payload?.data)
          await relay.spool.ack(c.message.id, 'builder')
        }
        return decisions.size
      })
      .toBe(2)
    expect(decisions.get(deny.id)).toMatchObject({
      decision: 'deny',
      decidedBy: 'system:expiry',
      expired: true,
    })
    expect(decisions.get(approve.id)).toMatchObject({
      decision: 'approve',
      decidedBy: 'system:expiry',
      expired: true,
    })
    const reviewer = asSession(relay, await signIn(relay, 'reviewer'))
    await expect
      .poll(async () => (await reviewer('GET', '/api/v1/console/approvals')).json().approvals.length)
      .toBe(1)
    const [escalated] = (await reviewer('GET', '/api/v1/console/approvals')).json().approvals
    expect(escalated.requestId).toBe(escalate.id)
    const decided = await reviewer('POST', `/api/v1/console/approvals/${escalated.message.id}/decision`, {
      decision: 'approve',
    })
    expect(decided.json().first).toBe(true)
    const [reply] = await relay.spool.claim('builder')
    expect(reply?.message.routing.replyTo).toBe(escalate.id)
    expect(reply?.message.payload?.data).toMatchObject({ decision: 'approve', decidedBy: 'reviewer' })
  })

  it("refuses a client's message that takes an id the relay keeps for its decisions and escalations", async () => {
    const relay = await startTestRelay({ listen: false })
    await humans(relay)
    const request = approvalRequest(relay, 'lead', {})
    await relay.spool.send(request)
    for (const suffix of ['decision', 'escalated']) {
      const squat = createMessage(
        {
          id: `${request.id}.${suffix}`,
          fromAgent: 'nobody',
          toAgent: 'builder',
          body: 'approve',
          routing: { replyTo: request.id },
          payload: {
            type: 'approval_response',
            data: {
              decision: 'approve',
              decidedBy: 'nobody',
              decidedAt: new Date(relay.clock.now()).toISOString(),
            },
          },
        },
        { clock: relay.clock },
      )
      const single = await relay.signed('nobody', 'POST', '/api/v1/messages', { message: squat })
      expect(single.statusCode).toBe(403)
      expect(errorOf(single)).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining(`.${suffix}`),
      })
      const batch = await relay.signed('nobody', 'POST', '/api/v1/messages/batch', {
        items: [{ message: { ...squat, id: `other.${suffix}` } }],
      })
      expect(batch.statusCode).toBe(403)
    }
    expect((await relay.spool.stats()).totalMessages).toBe(1)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    const decided = await lead('POST', `/api/v1/console/approvals/${request.id}/decision`, {
      decision: 'deny',
    })
    expect(decided.json()).toMatchObject({ first: true, response: { decision: 'deny', decidedBy: 'lead' } })
    const [reply] = await relay.spool.claim('builder')
    expect(reply?.message.payload?.data).toMatchObject({ decision: 'deny', decidedBy: 'lead' })
  })

  it('refuses Done on an approval request not decided yet: it is decided on the Approvals page', async () => {
    const relay = await startTestRelay({ listen: false })
    await humans(relay)
    const request = approvalRequest(relay, 'lead', {})
    await relay.spool.send(request)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    const done = await lead('POST', `/api/v1/console/inbox/${request.id}/done`)
    expect(done.statusCode).toBe(409)
    expect(errorOf(done)).toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('Approvals page'),
    })
    const [delivery] = (await relay.spool.status(request.id)).deliveries
    expect(delivery?.status).toBe('queued')
    expect((await lead('GET', '/api/v1/console/approvals')).json().approvals).toHaveLength(1)
    // Decided (here by the operator), the person's copy may be marked done.
    const admin = asSession(relay, await signIn(relay, 'admin'))
    await admin('POST', `/api/v1/console/approvals/${request.id}/decision`, { decision: 'approve' })
    expect((await lead('POST', `/api/v1/console/inbox/${request.id}/done`)).statusCode).toBe(204)
  })

  it("applies the request's expiry policy to a decision sent after its deadline", async () => {
    const relay = await startTestRelay({
      listen: false,
      options: { console: { sweepIntervalMs: 3_600_000 } },
    })
    await humans(relay)
    const deadline = new Date(relay.clock.now() + 300).toISOString()
    const request = approvalRequest(relay, 'lead', { deadline, onExpiry: 'deny' })
    await relay.spool.send(request)
    relay.clock.advance(600)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    const late = await lead('POST', `/api/v1/console/approvals/${request.id}/decision`, {
      decision: 'approve',
    })
    expect(late.statusCode).toBe(200)
    expect(late.json()).toMatchObject({
      first: false,
      response: { decision: 'deny', decidedBy: 'system:expiry', expired: true },
    })
    const [reply] = await relay.spool.claim('builder')
    expect(reply?.message.payload?.data).toMatchObject({ decision: 'deny', decidedBy: 'system:expiry' })
  })

  it('marks the session cookie Secure behind TLS (a trusted proxy saying https), and only then', async () => {
    const relay = await startTestRelay({ options: { trustProxy: true } })
    await humans(relay)
    const signInOver = (headers: Record<string, string>) =>
      relay.app.inject({
        method: 'POST',
        url: '/api/v1/console/session',
        headers,
        payload: { agentId: 'lead', secret: relay.secrets.lead },
      })
    const overTls = await signInOver({ 'x-forwarded-proto': 'https' })
    expect(overTls.statusCode).toBe(200)
    const secureCookie = String(overTls.headers['set-cookie'])
    expect(secureCookie).toMatch(/agent_comm_session=[^;]+;.*Secure/)
    expect(secureCookie).toMatch(/HttpOnly/)
    expect(secureCookie).toMatch(/SameSite=Strict/)
    const plain = await signInOver({})
    expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/)
  })

  it('refuses the CSRF token of another session, and a token after sign-out', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    const reviewer = await signIn(relay, 'reviewer')
    const crossed = await asSession(relay, { cookie: lead.cookie, key: lead.key, csrf: reviewer.csrf })(
      'POST',
      '/api/v1/console/messages',
      { to: 'builder', body: 'forged' },
    )
    expect(crossed.statusCode).toBe(403)
    expect(crossed.json().error.code).toBe('CSRF_REJECTED')
    // GET /session hands out a fresh token of the same session's secret: both are valid.
    const fresh = (await asSession(relay, lead)('GET', '/api/v1/console/session')).json().csrfToken
    expect(fresh).not.toBe(lead.csrf)
    const sent = await asSession(relay, { cookie: lead.cookie, key: lead.key, csrf: fresh })(
      'POST',
      '/api/v1/console/messages',
      {
        to: 'builder',
        body: 'with a fresh token',
      },
    )
    expect(sent.statusCode).toBe(200)
    expect(await relay.spool.pending('builder')).toHaveLength(1)
    // Signed out, the cookie and its tokens are worth nothing.
    expect((await asSession(relay, lead)('DELETE', '/api/v1/console/session')).statusCode).toBe(204)
    const afterwards = await asSession(relay, { cookie: lead.cookie, key: lead.key, csrf: fresh })(
      'POST',
      '/api/v1/console/messages',
      { to: 'builder', body: 'after sign-out' },
    )
    expect(afterwards.statusCode).toBe(401)
    expect(await relay.spool.pending('builder')).toHaveLength(1)
  })

  it('ends a session when its time runs out on the relay clock', async () => {
    const relay = await startTestRelay({ options: { console: { sessionTtlMs: 60_000 } } })
    await humans(relay)
    const lead = asSession(relay, await signIn(relay, 'lead'))
    relay.clock.advance(59_000)
    expect((await lead('GET', '/api/v1/console/inbox')).statusCode).toBe(200)
    relay.clock.advance(1_000)
    const expired = await lead('GET', '/api/v1/console/inbox')
    expect(expired.statusCode).toBe(401)
    expect(expired.json().error.message).toMatch(/expired or was ended/)
  })

  it('serves the page with a strict Content-Security-Policy', async () => {
    const relay = await startTestRelay()
    const page = await relay.app.inject({ method: 'GET', url: '/console/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/)
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/)
    expect(page.headers['x-frame-options']).toBeDefined()
  })
})

describe('console sessions from the page’s side', () => {
  it('answers a console request without any credentials as "not signed in": not counted, not the signing message', async () => {
    const relay = await startTestRelay({ options: { authFailureLimit: { max: 3, timeWindowMs: 60_000 } } })
    await humans(relay)
    // The sign-in page checks for a session on every load: many loads are not failed authentications.
    for (let i = 0; i < 10; i++) {
      const check = await relay.app.inject({ method: 'GET', url: '/api/v1/console/session' })
      expect(check.statusCode).toBe(401)
      expect(check.json().error).toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'Not signed in to the console',
      })
    }
    const inbox = await relay.app.inject({ method: 'GET', url: '/api/v1/console/inbox' })
    expect(inbox.statusCode).toBe(401)
    expect(inbox.json().error.message).toBe('Not signed in to the console')
    expect(inbox.json().error.message).not.toContain('X-Agent-ID')
    // The address was never counted (3 failures would refuse it with 429): a badly signed request is
    // still answered as such.
    const badlySigned = await relay.app.inject({
      method: 'GET',
      url: '/api/v1/agents',
      headers: { 'x-agent-id': 'lead' },
    })
    expect(badlySigned.statusCode).toBe(401)
  })

  it('checks the signature of a request naming its agent in X-Agent-ID even with a session cookie: the session does not stand in', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    expect((await asSession(relay, lead)('GET', '/api/v1/agents')).statusCode).toBe(200)
    const unsigned = await relay.app.inject({
      method: 'GET',
      url: '/api/v1/agents',
      headers: { cookie: lead.cookie, 'x-console-key': lead.key, 'x-agent-id': 'lead' },
    })
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json().error.code).toBe('UNAUTHENTICATED')
  })

  it('answers a signed-out session (another tab signed out) with the console’s message, on every console route', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    expect((await asSession(relay, lead)('DELETE', '/api/v1/console/session')).statusCode).toBe(204)
    for (const [method, url] of [
      ['GET', '/api/v1/console/session'],
      ['GET', '/api/v1/console/inbox'],
      ['DELETE', '/api/v1/console/session'],
    ] as const) {
      const stale = await asSession(relay, lead)(method, url)
      expect(stale.statusCode).toBe(401)
      expect(stale.json().error.message).toBe('The console session expired or was ended')
    }
  })

  it('lets a person sign in with the right secret while a stranger at the same address guesses other ids', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const attempt = (agentId: string, secret: string) =>
      relay.app.inject({ method: 'POST', url: '/api/v1/console/session', payload: { agentId, secret } })
    for (let i = 0; i < 25; i++) {
      expect((await attempt('nobody', `guess-${i}`)).statusCode).toBe(i < 20 ? 401 : 429)
    }
    for (let i = 0; i < 5; i++) expect((await attempt(`nobody-${i}`, 'guess')).statusCode).toBe(401)
    expect((await attempt('lead', relay.secrets.lead!)).statusCode).toBe(200)
  })

  it('gives each console its own cookie name, so two consoles on one host do not sign each other out', async () => {
    // A relay console and a local console on one host: browsers send each the other's cookie too.
    const relay = await startTestRelay()
    const local = await startTestRelay({
      options: { console: { cookieName: 'agent_comm_local_console_1a2b' } },
    })
    for (const r of [relay, local]) await humans(r)
    const onRelay = await signIn(relay, 'lead')
    const onLocal = await signIn(local, 'reviewer')
    expect(onRelay.cookie).toMatch(/^agent_comm_session=/)
    expect(onLocal.cookie).toMatch(/^agent_comm_local_console_1a2b=/)
    const both = `${onRelay.cookie}; ${onLocal.cookie}`
    const who = async (r: TestRelay, key: string) =>
      (
        await r.app.inject({
          method: 'GET',
          url: '/api/v1/console/session',
          headers: { cookie: both, 'x-console-key': key },
        })
      ).json().agentId
    expect(await who(relay, onRelay.key)).toBe('lead')
    expect(await who(local, onLocal.key)).toBe('reviewer')
    await expect(startTestRelay({ options: { console: { cookieName: 'bad name;' } } })).rejects.toMatchObject(
      { code: 'VALIDATION' },
    )
  })

  it('binds the session to its page key: a cookie received or planted by another server of the host is useless', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    expect(lead.key).toMatch(/^[\w-]{40,}$/)
    // Another port of the host receives the cookie, but not the key (the page's storage is its origin's).
    for (const [method, url] of [
      ['GET', '/api/v1/console/session'],
      ['GET', '/api/v1/console/inbox'],
      ['GET', '/api/v1/agents'],
    ] as const) {
      const stolen = await asSession(relay, { cookie: lead.cookie })(method, url)
      expect(stolen.statusCode).toBe(401)
      expect(stolen.json().error.message).toContain('without its page key')
    }
    const sent = await asSession(relay, { cookie: lead.cookie, csrf: lead.csrf })(
      'POST',
      '/api/v1/console/messages',
      {
        to: 'builder',
        body: 'as lead, from another port',
      },
    )
    expect(sent.statusCode).toBe(401)
    expect(await relay.spool.pending('builder')).toEqual([])
    // Session fixation: an attacker's own session cookie planted in the browser does not match the page's key.
    const attacker = await signIn(relay, 'reviewer')
    const fixated = await asSession(relay, { cookie: attacker.cookie, key: lead.key })(
      'GET',
      '/api/v1/console/session',
    )
    expect(fixated.statusCode).toBe(401)
    // The key is handed out at sign-in only: checking the session does not return it.
    const check = await asSession(relay, lead)('GET', '/api/v1/console/session')
    expect(check.statusCode).toBe(200)
    expect(check.json()).not.toHaveProperty('pageKey')
  })

  it('lists the newest messages first when more wait than the inbox shows, and says it was cut', async () => {
    const relay = await startTestRelay()
    await humans(relay)
    for (let i = 0; i < 505; i++) {
      await relay.spool.send(
        createMessage({ fromAgent: 'builder', toAgent: 'lead', body: `n${i}` }, { clock: relay.clock }),
      )
      relay.clock.advance(10)
    }
    const lead = await signIn(relay, 'lead')
    const inbox = (await asSession(relay, lead)('GET', '/api/v1/console/inbox')).json() as {
      items: { message: MessageV2 }[]
      more: boolean
    }
    expect(inbox.items).toHaveLength(500)
    expect(inbox.more).toBe(true)
    expect(inbox.items.slice(0, 3).map((i) => i.message.body)).toEqual(['n504', 'n503', 'n502'])
    const few = await startTestRelay()
    await humans(few)
    await few.spool.send(createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'only' }))
    const fewLead = await signIn(few, 'lead')
    expect((await asSession(few, fewLead)('GET', '/api/v1/console/inbox')).json()).toMatchObject({
      more: false,
    })
  })
})

/** Opens the console's event stream as `who`: refused, its status and error; open, how to close it. */
async function openStream(relay: TestRelay, who: { cookie: string; key: string }) {
  const abort = new AbortController()
  const response = await fetch(`${relay.url}/api/v1/console/stream`, {
    headers: { cookie: who.cookie, 'x-console-key': who.key },
    signal: abort.signal,
  })
  if (response.status !== 200) {
    const body = (await response.json()) as { error: { code: string; message: string; hint?: string } }
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      error: body.error,
      ended: Promise.resolve(),
      close: () => undefined,
    }
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  return {
    status: 200,
    retryAfter: null,
    error: undefined,
    /** Resolves when the relay ends the stream. */
    ended: (async () => {
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return
    })(),
    close: () => abort.abort(),
  }
}

/** Opens a stream as `who` once a slot is free again (the relay saw an earlier one end). */
async function streamOnceFree(relay: TestRelay, who: { cookie: string; key: string }) {
  return vi.waitFor(
    async () => {
      const stream = await openStream(relay, who)
      if (stream.status !== 200) throw new Error(`still refused: ${stream.status}`)
      return stream
    },
    { timeout: 30_000, interval: 20 },
  )
}

describe('console event streams (console.maxStreamsPerSession, console.maxStreams)', () => {
  it('refuses one stream more than a session, or the relay, may hold with 429, Retry-After and a hint', async () => {
    const relay = await startTestRelay({ options: { console: { maxStreamsPerSession: 2, maxStreams: 3 } } })
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    const leadAgain = await signIn(relay, 'lead')
    const reviewer = await signIn(relay, 'reviewer')
    const open = [await openStream(relay, lead), await openStream(relay, lead)]
    expect(open.map((s) => s.status)).toEqual([200, 200])
    const third = await openStream(relay, lead)
    expect(third).toMatchObject({
      status: 429,
      retryAfter: '5',
      error: {
        code: 'TOO_MANY_WAITS',
        message: 'This console session already has 2 event streams open on this relay',
        hint: expect.stringContaining('Close console tabs'),
        details: { limit: 2, scope: 'session', kind: 'consoleStream' },
      },
    })
    // Another session of the same person has slots of its own, up to the relay's total.
    open.push(await openStream(relay, leadAgain))
    expect(open[2]!.status).toBe(200)
    expect(await openStream(relay, reviewer)).toMatchObject({
      status: 429,
      retryAfter: '5',
      error: { code: 'TOO_MANY_WAITS', details: { limit: 3, scope: 'relay' } },
    })
    // A page that goes away gives its slot back: the session's and the relay's.
    open[0]!.close()
    const again = await streamOnceFree(relay, lead)
    expect(await openStream(relay, reviewer)).toMatchObject({ status: 429 })
    open[1]!.close()
    const reviewers = await streamOnceFree(relay, reviewer)
    for (const stream of [again, reviewers, open[2]!]) stream.close()
  })

  it('gives the slot back when the stream fails and when the relay closes', async () => {
    const relay = await startTestRelay({ options: { console: { maxStreamsPerSession: 1 } } })
    await humans(relay)
    const lead = await signIn(relay, 'lead')
    const first = await openStream(relay, lead)
    expect(first.status).toBe(200)
    expect(await openStream(relay, lead)).toMatchObject({ status: 429 })
    const pending = vi.spyOn(relay.spool, 'pending').mockRejectedValue(new Error('the disk went away'))
    await relay.spool.send(createMessage({ fromAgent: 'builder', toAgent: 'lead', body: 'wakes the stream' }))
    await first.ended
    pending.mockRestore()
    const second = await openStream(relay, lead)
    expect(second.status).toBe(200)
    // Closing the relay ends the stream through the same way out.
    await relay.app.close()
    await second.ended
  })
})
