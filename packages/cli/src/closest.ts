/**
 * The word of `candidates` nearest to `typed` by edit distance, if it is near enough to be a typo (at most
 * 2 edits, or a third of the word for long ones), else undefined. Suggests commands (`sned` → `send`) and
 * flags (`--lese-seconds` → `--lease-seconds`).
 */
export function closestWord(typed: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(typed.length / 3))
  let best: { word: string; distance: number } | undefined
  for (const word of candidates) {
    const distance = editDistance(typed, word)
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { word, distance }
  }
  return best?.word
}

/** Levenshtein distance: insertions, deletions and substitutions, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * The message for flags a command does not have (oclif's `Nonexistent flag: --x`), each with the nearest
 * flag the command has when one is near enough: `Nonexistent flag: --lese-seconds (did you mean
 * --lease-seconds?)`. `typed` as oclif lists them (`--lese-seconds=30`, `-z`); `known` the command's
 * flag names without dashes, and its one-letter flags.
 */
export function nonexistentFlagsMessage(typed: readonly string[], known: readonly string[]): string {
  const long = known.filter((name) => name.length > 1).map((name) => `--${name}`)
  const described = typed.map((flag) => {
    const name = flag.replace(/=.*$/s, '')
    const suggestion = name.startsWith('--') ? closestWord(name, long) : undefined
    return suggestion === undefined ? flag : `${flag} (did you mean ${suggestion}?)`
  })
  return `Nonexistent flag${typed.length === 1 ? '' : 's'}: ${described.join(', ')}`
}
