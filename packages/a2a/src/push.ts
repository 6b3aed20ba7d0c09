import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns'
import { TaskPushNotificationConfig } from '@a2a-js/sdk'
import type { Clock, Logger } from '@agent-comm/protocol'
import { errorMessage, silentLogger } from '@agent-comm/protocol'
import {
  type CheckedPushUrl,
  checkPushUrl,
  type HostLookup,
  type PushUrlPolicy,
  type PushUrlRefusal,
} from './push-url.js'
import type { PushSigner } from './signing-keys.js'
import type { A2AStore, DuePush } from './store.js'

/** Options of {@link A2APushes}. */
export interface A2APushesOptions {
  store: A2AStore
  clock: Clock
  logger?: Logger
  /**
   * How a push is sent. By default an HTTP client that connects to exactly the address the URL was
   * checked at (no second DNS lookup); a `fetch` given here (an egress proxy) is used as it is, and then
   * the proxy must enforce the address rules itself.
   */
  fetch?: typeof fetch
  /** Signs each push (a JWT in `Authorization: Bearer` and `X-A2A-Notification-Signature`); none: unsigned. */
  signer?: PushSigner
  /**
   * Certificate authorities trusted for https webhooks instead of Node's defaults (PEM): webhooks behind an
   * internal CA. Only for the default client (not a `fetch` of your own).
   */
  ca?: string | readonly string[]
  /** First retry delay in ms (1000); it doubles with each attempt, up to five minutes. */
  retryBaseMs?: number
  /** Attempts before a push is given up (8). */
  maxAttempts?: number
  /** How long one POST may take, in ms (10 000). */
  timeoutMs?: number
  /** Which webhook addresses are allowed (default: public addresses only, see {@link PushUrlPolicy}). */
  policy?: PushUrlPolicy
  /** How host names are resolved for that check (default `dns.lookup`). */
  lookup?: HostLookup
}

/**
 * Delivers the push outbox: each due row is POSTed to its config's URL as the A2A `StreamResponse` JSON
 * (`application/a2a+json`), with the config's token in `X-A2A-Notification-Token` and its
 * authentication (scheme and credentials) in `Authorization`, as A2A 1.0 describes. A failure is retried
 * with exponential backoff; the outbox lives in the database, so a restart or another replica goes on.
 */
export class A2APushes {
  readonly #store: A2AStore
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #fetch: typeof fetch | undefined
  readonly #signer: PushSigner | undefined
  readonly #ca: string | readonly string[] | undefined
  readonly #retryBaseMs: number
  readonly #maxAttempts: number
  readonly #timeoutMs: number
  readonly #policy: PushUrlPolicy
  readonly #lookup: HostLookup | undefined

  constructor(options: A2APushesOptions) {
    this.#store = options.store
    this.#clock = options.clock
    this.#logger = options.logger ?? silentLogger
    this.#fetch = options.fetch
    this.#signer = options.signer
    this.#ca = options.ca
    this.#retryBaseMs = options.retryBaseMs ?? 1000
    this.#maxAttempts = options.maxAttempts ?? 8
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#policy = options.policy ?? {}
    this.#lookup = options.lookup
  }

  /**
   * Why pushes may not go to `url`, or undefined when they may: a scheme other than http(s), or a host
   * that resolves to a loopback, private, link-local, unspecified or multicast address (unless the policy
   * allows it). `unresolved` when the host does not resolve now.
   */
  async urlProblem(url: string): Promise<PushUrlRefusal | undefined> {
    const checked = await checkPushUrl(url, this.#policy, this.#lookup)
    return 'reason' in checked ? checked : undefined
  }

  /** Sends every push due now, in order per task; returns how many were delivered. */
  async deliverDue(limit = 50): Promise<number> {
    const due = await this.#store.duePushes(this.#clock.now(), limit)
    const blocked = new Set<string>()
    let delivered = 0
    for (const push of due) {
      const key = `${push.taskId}\n${push.configId}`
      // Events of one task reach a webhook in order: after a failure, its later events wait their turn.
      if (blocked.has(key)) continue
      const now = this.#clock.now()
      if (!(await this.#store.claimPush(push.id, push.nextAt, now + this.#timeoutMs * 2))) continue
      // Checked again at each delivery: the host may resolve elsewhere than when the config was set. The
      // POST then connects to the addresses checked here, never to what a second lookup would answer.
      const checked = await checkPushUrl(
        TaskPushNotificationConfig.fromJSON(push.config).url,
        this.#policy,
        this.#lookup,
      )
      const problem = 'reason' in checked ? checked : undefined
      const error = 'reason' in checked ? checked.reason : await this.#send(push, checked)
      const attempts = push.attempts + 1
      if (error === undefined) {
        delivered++
        await this.#store.recordPush({
          id: push.id,
          attempts,
          done: true,
          nextAt: now,
          at: this.#clock.now(),
        })
        continue
      }
      blocked.add(key)
      // A forbidden address is given up at once; a host that does not resolve is retried.
      const givesUp = attempts >= this.#maxAttempts || (problem !== undefined && problem.unresolved !== true)
      const delay = Math.min(this.#retryBaseMs * 2 ** (attempts - 1), 300_000)
      await this.#store.recordPush({
        id: push.id,
        attempts,
        done: givesUp,
        nextAt: this.#clock.now() + delay,
        error,
        at: this.#clock.now(),
      })
      this.#logger.warn(
        { taskId: push.taskId, configId: push.configId, attempts, error, givesUp },
        'a2a push failed',
      )
    }
    return delivered
  }

  async #send(push: DuePush, checked: CheckedPushUrl): Promise<string | undefined> {
    const config = TaskPushNotificationConfig.fromJSON(push.config)
    const body = JSON.stringify(push.event)
    const headers: Record<string, string> = { 'content-type': 'application/a2a+json' }
    if (config.token !== '') headers['x-a2a-notification-token'] = config.token
    const scheme = config.authentication?.scheme ?? ''
    const credentials = config.authentication?.credentials ?? ''
    if (scheme !== '' && credentials !== '') headers.authorization = `${scheme} ${credentials}`
    try {
      if (this.#signer !== undefined) {
        const jwt = await this.#signer.sign({ body, taskId: push.taskId, audience: config.url })
        headers['x-a2a-notification-signature'] = jwt
        // The caller's own credentials keep Authorization; otherwise it carries the signature too.
        headers.authorization ??= `Bearer ${jwt}`
      }
      if (this.#fetch !== undefined) {
        const response = await this.#fetch(config.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
          redirect: 'error',
        })
        await response.body?.cancel()
        return response.ok ? undefined : `HTTP ${response.status}`
      }
      return await this.#post(checked, headers, body)
    } catch (error) {
      return errorMessage(error)
    }
  }

  /**
   * POSTs to the URL through a connection to one of the checked addresses: the host name stays in the
   * URL (so the Host header and the TLS server name are the webhook's), only the lookup is pinned.
   * Redirects are not followed.
   */
  async #post(
    checked: CheckedPushUrl,
    headers: Record<string, string>,
    body: string,
  ): Promise<string | undefined> {
    const addresses = checked.addresses
    // Loaded on the first push: the CLI's token commands load this package and never send one.
    const { Agent, request } = await import('undici')
    const agent = new Agent({
      connect: {
        timeout: this.#timeoutMs,
        // TLS options: only a given `ca` replaces Node's roots.
        ...(this.#ca === undefined ? {} : { ca: typeof this.#ca === 'string' ? this.#ca : [...this.#ca] }),
        lookup: (_host: string, options: LookupOneOptions | LookupAllOptions, callback: PinnedCallback) => {
          if ((options as LookupAllOptions).all === true) {
            ;(callback as (e: null, a: LookupAddress[]) => void)(null, [...addresses])
          } else {
            const first = addresses[0]!
            ;(callback as (e: null, a: string, f: number) => void)(null, first.address, first.family)
          }
        },
      },
    })
    try {
      const response = await request(checked.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
      await response.body.dump()
      return response.statusCode >= 200 && response.statusCode < 300
        ? undefined
        : `HTTP ${response.statusCode}`
    } finally {
      await agent.destroy()
    }
  }
}

type PinnedCallback =
  | ((error: null, address: string, family: number) => void)
  | ((error: null, addresses: LookupAddress[]) => void)
