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
}

/**
 * The claim-then-wait step of every long poll: claim; when there was nothing, wait up to `timeoutMs` for a
 * change and, after one, claim once more. Resolves what was claimed, or `undefined` when nothing was (the
 * time passed, `signal` aborted, or another consumer won the change: the caller polls again if it wants).
 * One claim after a change, never a loop, so a change that claims nothing cannot spin. Waits are timers,
 * which an injected clock does not move.
 */
export async function claimThenWait<T>(
  steps: ClaimThenWaitSteps<T>,
  options: ClaimThenWaitOptions,
): Promise<T | undefined> {
  const claimed = await steps.claim()
  if (claimed !== undefined || options.timeoutMs <= 0) return claimed
  return (await steps.wait(options.timeoutMs, options.signal)) ? steps.claim() : undefined
}
