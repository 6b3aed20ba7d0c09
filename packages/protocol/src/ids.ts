import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import { RandomPool } from './random.js'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

function encodeTime(ms: number): string {
  let out = ''
  let rest = ms
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[rest % 32] + out
    rest = Math.floor(rest / 32)
  }
  return out
}

/**
 * A generator of ULID-style ids: 10 characters of millisecond time then 16 of randomness, so ids sort by
 * creation time. Within one millisecond the random part is incremented instead of redrawn, so ids made in
 * the same millisecond by one generator are strictly increasing and never collide.
 */
export class IdGenerator {
  readonly #clock: Clock
  readonly #random = new RandomPool()
  #lastMs = -1
  #lastRandom: number[] = []
  #lastTime = ''

  constructor(clock: Clock = systemClock) {
    this.#clock = clock
  }

  /** Returns `${prefix}_${ulid}`. */
  next(prefix: string): string {
    let ms = this.#clock.now()
    if (ms <= this.#lastMs) {
      ms = this.#lastMs
      this.#increment()
    } else {
      this.#lastMs = ms
      this.#lastTime = encodeTime(ms)
      const bytes = this.#random.bytes(16)
      this.#lastRandom = Array.from(bytes, (b) => b & 31)
      // Leave headroom so incrementing within a millisecond cannot overflow in practice.
      this.#lastRandom[0] = this.#lastRandom[0]! & 15
    }
    let random = ''
    for (const digit of this.#lastRandom) random += CROCKFORD[digit]
    return `${prefix}_${this.#lastTime}${random}`
  }

  #increment(): void {
    for (let i = this.#lastRandom.length - 1; i >= 0; i--) {
      const digit = this.#lastRandom[i]!
      if (digit < 31) {
        this.#lastRandom[i] = digit + 1
        return
      }
      this.#lastRandom[i] = 0
    }
    throw new RangeError('id space for this millisecond exhausted')
  }
}

const defaultIds = new IdGenerator()

/** A new sortable, unique message id such as `msg_01JD3Q8Z7X0000000000000000`. */
export function newMessageId(ids: IdGenerator = defaultIds): string {
  return ids.next('msg')
}

/** A new conversation id such as `conv_01JD3Q8Z7X0000000000000000`. */
export function newConversationId(ids: IdGenerator = defaultIds): string {
  return ids.next('conv')
}
