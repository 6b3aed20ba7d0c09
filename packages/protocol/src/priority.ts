import { z } from 'zod'
import { lazySchema } from './lazy-schema.js'
import { PRIORITIES, PRIORITY_INPUTS } from './vocabulary.js'

export { PRIORITIES } from './vocabulary.js'

/** A message priority. */
export type Priority = (typeof PRIORITIES)[number]

/** The canonical priority schema (output form). */
export const PrioritySchema = lazySchema(() =>
  z.enum(PRIORITIES, {
    error: () => `must be one of ${PRIORITIES.join(', ')} (or 'urgent', an alias of critical)`,
  }),
)

/** Accepts the canonical priorities and the Python original's `urgent`, which becomes `critical`. */
export const PriorityInput = lazySchema(() =>
  z
    .enum(PRIORITY_INPUTS, {
      error: () => `must be one of ${PRIORITIES.join(', ')} (or 'urgent', an alias of critical)`,
    })
    .transform((p): Priority => (p === 'urgent' ? 'critical' : p)),
)

/** Sort rank of a priority: 0 for critical up to 3 for low. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority)
}

/** The priority with the given rank. */
export function priorityFromRank(rank: number): Priority {
  const p = PRIORITIES[rank]
  if (p === undefined) throw new RangeError(`no priority has rank ${rank}`)
  return p
}
