// The one place a URL that may carry credentials (a PostgreSQL URL with its password, an OTLP endpoint with
// a token) is made safe to print, log or show. Text-based on purpose: the WHATWG parser splits a password
// holding an unencoded `@`, `#`, `?` or `/` at the wrong place (`postgres://u:S3C#RET@h/db` parses as host
// `u`, port `S3C`), so a redaction built on it shows part of the password as the host or the fragment.

/** Query parameter names whose values are secrets (`password`, `sslpassword`, `api_key`, `token`…). */
const SECRET_PARAM = /pass|secret|token|key|signature|credential/i

/**
 * `url` without anything secret: the password of its user info (everything between the first `:` of the
 * user info and the *last* `@`, so an unencoded `@ # ? /` in the password cannot split it), the fragment,
 * and every query parameter named like a secret ({@link SECRET_PARAM}). The user name, host, path and other
 * parameters stay, so the message still says where. Nothing of a removed secret remains, not even its length.
 * Text that is not a URL comes back with the same parts removed wherever they appear.
 */
export function redactUrl(url: string): string {
  const parts = splitUrl(url)
  if (parts === undefined) return withoutSecretParams(url)
  const userInfo = parts.user === undefined ? '' : `${parts.user}@`
  return `${parts.head}${userInfo}${withoutSecretParams(parts.rest.replace(/#.*$/s, ''))}`
}

/**
 * `text` with every URL in it (`scheme://…` up to a space or quote) shown as {@link redactUrl} does: for
 * printing text that may quote one, such as a config file's content holding a PostgreSQL URL.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => redactUrl(url))
}

/**
 * Every secret `url` holds, as written and percent-decoded: its user info password and the values of its
 * secret-named query parameters. For scrubbing text that may quote them (a driver's error message).
 */
export function urlSecrets(url: string): string[] {
  const parts = splitUrl(url)
  const found: string[] = []
  if (parts?.password !== undefined) found.push(parts.password)
  for (const match of url.matchAll(/[?&]([^=&#]*)=([^&#\s]*)/g))
    if (SECRET_PARAM.test(match[1] ?? '')) found.push(match[2] ?? '')
  const decoded = found.map((secret) => {
    try {
      return decodeURIComponent(secret)
    } catch {
      return secret
    }
  })
  return [...new Set([...found, ...decoded])].filter((secret) => secret !== '')
}

/**
 * The user info password of `url` as a URL parser would have to read it (up to the last `@`), or `undefined`
 * without one; percent-encoding kept. A parser that reads a different password split it at an unencoded
 * `@ # ? /`: the URL is ambiguous.
 */
export function urlPassword(url: string): string | undefined {
  return splitUrl(url)?.password
}

interface UrlParts {
  /** Up to and including `//`. */
  head: string
  user: string | undefined
  password: string | undefined
  /** Host, path, query and fragment. */
  rest: string
}

function splitUrl(url: string): UrlParts | undefined {
  const start = url.indexOf('//')
  if (start < 0) return undefined
  const head = url.slice(0, start + 2)
  const after = url.slice(start + 2)
  const at = after.lastIndexOf('@')
  if (at < 0) return { head, user: undefined, password: undefined, rest: after }
  const info = after.slice(0, at)
  const colon = info.indexOf(':')
  return {
    head,
    user: colon < 0 ? info : info.slice(0, colon),
    password: colon < 0 ? undefined : info.slice(colon + 1),
    rest: after.slice(at + 1),
  }
}

function withoutSecretParams(text: string): string {
  return text
    .replace(/([?&])([^=&#\s]*)=[^&#\s]*/g, (whole, separator: string, name: string) =>
      SECRET_PARAM.test(name) ? separator : whole,
    )
    .replace(/([?&])&+/g, '$1')
    .replace(/[?&]$/, '')
}
