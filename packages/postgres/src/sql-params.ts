/**
 * The positional parameters of one statement as it is written: {@link SqlParams.add} binds a value and
 * returns its placeholder (`$1`, `$2`, …), so a query assembled from optional filters numbers its
 * placeholders without counting them by hand.
 */
export class SqlParams {
  /** The values bound so far, in placeholder order: the statement's parameters. */
  readonly values: unknown[] = []

  /** Binds `value` and returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}
