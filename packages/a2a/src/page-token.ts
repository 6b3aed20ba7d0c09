import { createHash } from 'node:crypto'
import { z } from 'zod'
import { invalidParams } from './parts.js'

/** Where a `ListTasks` page ended: the last task's `(updatedAt, id)`, the next page starts after it. */
export interface TaskCursor {
  updatedAt: number
  id: string
}

/** What a page token was given for: a token is only good for the same caller, agent and filters. */
export interface TaskListQuery {
  caller: string
  agent: string
  contextId: string | undefined
  /** The state the list is filtered on (ListTasks' `status`), if any. */
  state?: string | undefined
  /** The time (ms) the list starts from (ListTasks' `statusTimestampAfter`), if any. */
  updatedFrom?: number | undefined
}

const TokenSchema = z.object({
  v: z.literal(1),
  u: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  i: z.string().min(1).max(256),
  q: z.string().length(16),
})

/** A token is a few hundred bytes at most (the id is at most 256 characters); longer is not ours. */
const MAX_TOKEN_LENGTH = 1024

const BAD_TOKEN =
  'params.pageToken is not a token this server gave: pass the nextPageToken of the previous ListTasks answer, or omit it to start from the first page'

/**
 * The query's fingerprint in the token: a token of another caller, agent or filter is refused rather
 * than taken as a position in this list (it could never show another caller's tasks, which the query
 * filters out, but a client that mixed its tokens up is better told so).
 */
function fingerprint(query: TaskListQuery): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        query.caller,
        query.agent,
        query.contextId ?? '',
        query.state ?? '',
        // Only when given: a token of a list without it, given before this filter existed, stays good.
        ...(query.updatedFrom === undefined ? [] : [query.updatedFrom]),
      ]),
    )
    .digest('hex')
    .slice(0, 16)
}

/** The opaque `nextPageToken` that continues `query` after `cursor` (base64url JSON). */
export function encodePageToken(query: TaskListQuery, cursor: TaskCursor): string {
  const token = { v: 1, u: cursor.updatedAt, i: cursor.id, q: fingerprint(query) }
  return Buffer.from(JSON.stringify(token)).toString('base64url')
}

/**
 * The cursor of a caller's `pageToken`: undefined for none (the first page); invalid params (-32602)
 * for a token this server did not give for this query.
 */
export function decodePageToken(query: TaskListQuery, pageToken: string | undefined): TaskCursor | undefined {
  if (pageToken === undefined || pageToken === '') return undefined
  if (pageToken.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(pageToken))
    throw invalidParams(BAD_TOKEN)
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8'))
  } catch {
    throw invalidParams(BAD_TOKEN)
  }
  const token = TokenSchema.safeParse(json)
  if (!token.success) throw invalidParams(BAD_TOKEN)
  if (token.data.q !== fingerprint(query))
    throw invalidParams(
      'params.pageToken was given for another list (another contextId, status, statusTimestampAfter or agent): omit it to start this list from the first page',
    )
  return { updatedAt: token.data.u, id: token.data.i }
}
