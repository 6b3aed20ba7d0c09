/** What a server's failure to listen on an address means, and what to do about it. */
export interface ListenProblem {
  /** What went wrong, e.g. "the address is already in use". */
  problem: string
  /** What to do, naming `--port` or `--host` in the command given as `retry`. */
  fix: string
}

/**
 * Node's errors for an address a server cannot listen on: what each means, and what to do about it, by
 * code and the call that failed — the same codes from another call (`EACCES` making a data folder, a
 * database host that does not resolve) are not about the address.
 */
const LISTEN_PROBLEMS: Readonly<Record<string, ListenProblem & { syscall: string }>> = {
  EADDRINUSE: {
    syscall: 'listen',
    problem: 'the address is already in use',
    fix: 'Stop what uses it, or choose another port (0 picks a free one): {retry} --port <port>',
  },
  EACCES: {
    syscall: 'listen',
    problem: 'permission denied',
    fix: 'Ports below 1024 need privileges; choose a higher one: {retry} --port <port>',
  },
  EADDRNOTAVAIL: {
    syscall: 'listen',
    problem: 'this machine has no such address',
    fix: 'Choose an address of this machine (0.0.0.0 for all of them): {retry} --host 127.0.0.1',
  },
  ENOTFOUND: {
    syscall: 'getaddrinfo',
    problem: 'no such host name',
    fix: 'Give a name or address of this machine (0.0.0.0 for all of them): {retry} --host 127.0.0.1',
  },
  EAI_AGAIN: {
    syscall: 'getaddrinfo',
    problem: 'the host name could not be looked up',
    fix: 'Check the name resolution (DNS), or give an address: {retry} --host 127.0.0.1',
  },
}

/**
 * The problem when `error` is Node's failure to listen on an address (port in use, no permission, no such
 * address or host name), with the fix naming the command `retry`; undefined for any other error. One table
 * for every server agent-comm starts (the relay's bin, the CLI's relay, console and MCP server), so each
 * says the same about the same failure.
 */
export function listenProblem(error: unknown, retry: string): ListenProblem | undefined {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown }
  const known = typeof code === 'string' ? LISTEN_PROBLEMS[code] : undefined
  if (known === undefined || known.syscall !== syscall) return undefined
  return { problem: known.problem, fix: known.fix.replace('{retry}', retry) }
}
