// The rule every bridge that speaks HTTP keeps: a redirect is never followed. Following one would send the
// message (and its token) to wherever the endpoint points — an internal address, the cloud metadata
// service (169.254.169.254) — and hand that answer back to the sender as the reply. A redirect is a
// failure that is not retried (the endpoint would redirect again), its reason naming the status and the
// Location's host only (no path, query or user info, which may hold secrets).

/**
 * Why a 3xx answer of `what` (a bridge's name) is refused: its status and where it pointed. Cancels the
 * response's body (it is not read).
 */
export async function redirectReason(
  what: string,
  kind: string,
  response: Response,
  requestUrl: string,
): Promise<string> {
  await response.body?.cancel()
  const location = response.headers.get('location')
  let target = 'no Location'
  if (location !== null) {
    try {
      target = `Location host ${new URL(location, requestUrl).host}`
    } catch {
      target = 'an invalid Location'
    }
  }
  return `${what} answered ${response.status} (a redirect to ${target}); ${kind} redirects are not followed, so the message is dead-lettered without a retry: configure the URL the ${kind} redirects to`
}

/** A redirect a bridge's fetch refused to follow ({@link refusingRedirects}): never worth a retry. */
export class RedirectRefusedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RedirectRefusedError'
  }
}

/**
 * `fetch` as `base`, but never following a redirect: every request is made with `redirect: 'manual'`, and a
 * 3xx answer throws {@link RedirectRefusedError} with {@link redirectReason}'s text. For a client (such as
 * the A2A SDK's) that makes its requests itself.
 */
export function refusingRedirects(base: typeof fetch, what: string, kind: string): typeof fetch {
  return async (input, init) => {
    const response = await base(input, { ...init, redirect: 'manual' })
    if (response.status < 300 || response.status >= 400) return response
    const url = input instanceof Request ? input.url : String(input)
    throw new RedirectRefusedError(await redirectReason(what, kind, response, url))
  }
}

/** Whether `error`, or an error it was caused by, is a refused redirect. */
export function isRedirectRefused(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof RedirectRefusedError) return true
  }
  return false
}
