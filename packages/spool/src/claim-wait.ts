/** The two steps of {@link claimThenWait}. */
export interface ClaimThenWaitSteps<T> {
  /** Tries to claim; `undefined` when there is nothing to claim yet. */
  claim(): Promise<T | undefined>
  /**
   * Waits at most `timeoutMs` for a change that may let a claim succeed. Resolves `true` on such a change,
   * `false` when the time passed or `signal` aborted without one.
   */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean>
}

/** How long {@link claimThenWait} waits. */
export interface ClaimThenWaitOptions {
  /** Longest wait for a change, in ms (`0`: claim once, never wait). */
  timeoutMs: number
  /** Stops the wait: resolves `undefined` without another claim. */
  signal?: AbortSignal | undefined
  /**
   * After a change whose claim found nothing (another consumer won it), wait again for the time left
   * instead of resolving `undefined` (default false: one claim after a change).
   */
  waitAgain?: boolean
}

/**
 * The claim-then-wait step of every long poll: claim; when there was nothing, wait up to `timeoutMs` for a
 * change and, after one, claim again. Resolves what was claimed, or `undefined` when nothing was: the time
 * passed, `signal` aborted, or another consumer won the change (with `waitAgain`, only the first two: it
 * waits again for the time left). Waits are timers, which an injected clock does not move.
 */
export async function claimThenWait<T>(
  steps: ClaimThenWaitSteps<T>,
  options: ClaimThenWaitOptions,
): Promise<T | undefined> {
  const started = performance.now()
  let claimed = await steps.claim()
  for (;;) {
    if (claimed !== undefined) return claimed
    const left = options.timeoutMs - (performance.now() - started)
    if (left <= 0 || options.signal?.aborted) return undefined
    if (!(await steps.wait(left, options.signal))) return undefined
    claimed = await steps.claim()
    if (options.waitAgain !== true) return claimed
  }
}
