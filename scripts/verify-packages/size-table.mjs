// The root README's size table: what `npm install` of each package brings into a fresh project. The
// packaging check writes it (`--table`) and, on a full run, fails when the README's copy no longer matches
// what it measured.
//
// Not every column can be held to the same standard. A package's own files are ours: their unpacked and
// compressed sizes follow from the build (and, compressed, from the zlib Node ships), so they may move by
// 5% (at least 2 kB) — a reworded README or a small fix does not make the table wrong — but a package
// that grew or shrank by more fails the check. What the install brings along is resolved from the npm
// registry at the time of the run: when zod, fastify or better-sqlite3 publish a new version, the count
// and size move without any change here, so those may drift by up to 15% before the table counts as stale.

export const TABLE_START = '<!-- package-sizes:start -->'
export const TABLE_END = '<!-- package-sizes:end -->'

/** How far the measured values may be from the README's before the table is stale. */
export const TOLERANCE = { ownRatio: 0.05, ownMinKb: 2, installedRatio: 0.15 }

const HEADER = [
  '| package | install | tarball | unpacked | packages installed | size installed |',
  '|---|---|---:|---:|---:|---:|',
]

const kb = (bytes) => Math.round(bytes / 1024)
const mb = (bytes) => Number((bytes / 1024 / 1024).toFixed(1))

/**
 * The table's rows from what was measured, one per `{ name, install, tarball, unpacked, count, bytes }`
 * (sizes in bytes), with the values as the table shows them.
 */
export function sizeRows(measured) {
  return measured.map(({ name, install, tarball, unpacked, count, bytes }) => ({
    name,
    install: `npm install ${install.join(' ')}`,
    tarballKb: kb(tarball),
    unpackedKb: kb(unpacked),
    count,
    installedMb: mb(bytes),
  }))
}

/** The markdown table for `rows` (from sizeRows). */
export function formatSizeTable(rows) {
  return [
    ...HEADER,
    ...rows.map(
      (r) =>
        `| \`${r.name}\` | \`${r.install}\` | ${r.tarballKb} kB | ${r.unpackedKb} kB | ${r.count} | ${r.installedMb.toFixed(1)} MB |`,
    ),
  ].join('\n')
}

/** The table between the markers of `readme`, or undefined when the markers are missing. */
export function tableSection(readme) {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start < 0 || end < start) return undefined
  return readme.slice(start + TABLE_START.length, end).trim()
}

/** `readme` with the table between its markers replaced by `table`. */
export function replaceTableSection(readme, table) {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} section`)
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`
}

/** Parses a table written by formatSizeTable back into rows; a line it cannot read is a problem. */
export function parseSizeTable(table) {
  const rows = []
  const problems = []
  const lines = table.split('\n').filter((line) => line.trim() !== '')
  // Another header is another layout (an older one): its rows cannot be read as this one's.
  if (lines[0] !== HEADER[0]) return { rows, problems: [`the header is '${lines[0]}', not '${HEADER[0]}'`] }
  for (const line of lines.slice(2)) {
    const match = /^\| `([^`]+)` \| `([^`]+)` \| (\d+) kB \| (\d+) kB \| (\d+) \| (\d+(?:\.\d)?) MB \|$/.exec(
      line,
    )
    if (match === null) {
      problems.push(`cannot read the row '${line}'`)
      continue
    }
    rows.push({
      name: match[1],
      install: match[2],
      tarballKb: Number(match[3]),
      unpackedKb: Number(match[4]),
      count: Number(match[5]),
      installedMb: Number(match[6]),
    })
  }
  return { rows, problems }
}

/** Whether `measured` is within `ratio` of `shown` (relative to the value the README shows). */
function within(shown, measured, ratio) {
  // The epsilon keeps 6.0 → 6.9 MB within 15%: 6.9 - 6 is 0.9000000000000004 in floating point.
  return Math.abs(measured - shown) <= ratio * shown + 1e-9
}

/**
 * What makes the README's table (`shown`, the text between the markers) stale against the rows measured
 * now: a package missing, added or moved, another install line, an unpacked or tarball size more than 5%
 * (and 2 kB) off, or an install more than 15% off in packages or size. Empty when the table holds.
 */
export function compareSizeTables(shown, measured) {
  const { rows, problems } = parseSizeTable(shown)
  if (rows.length === 0 && problems.length > 0) return problems
  const names = (list) => list.map((r) => r.name).join(', ')
  if (names(rows) !== names(measured)) {
    problems.push(`it lists ${names(rows)}; the packages are ${names(measured)}`)
  }
  const byName = new Map(rows.map((r) => [r.name, r]))
  const percent = `${TOLERANCE.installedRatio * 100}%`
  for (const now of measured) {
    const then = byName.get(now.name)
    if (then === undefined) continue
    const differs = (what, a, b) => problems.push(`${now.name}: ${what} is ${a} in README.md, ${b} now`)
    if (then.install !== now.install) differs('the install line', `'${then.install}'`, `'${now.install}'`)
    const ownPercent = `${TOLERANCE.ownRatio * 100}%`
    const ownOff = (a, b) => Math.abs(a - b) > Math.max(TOLERANCE.ownMinKb, TOLERANCE.ownRatio * a)
    if (ownOff(then.unpackedKb, now.unpackedKb)) {
      differs(`unpacked (more than ${ownPercent} off)`, `${then.unpackedKb} kB`, `${now.unpackedKb} kB`)
    }
    if (ownOff(then.tarballKb, now.tarballKb)) {
      differs(`the tarball (more than ${ownPercent} off)`, `${then.tarballKb} kB`, `${now.tarballKb} kB`)
    }
    if (!within(then.count, now.count, TOLERANCE.installedRatio)) {
      differs(`packages installed (more than ${percent} off)`, then.count, now.count)
    }
    if (!within(then.installedMb, now.installedMb, TOLERANCE.installedRatio)) {
      differs(`size installed (more than ${percent} off)`, `${then.installedMb} MB`, `${now.installedMb} MB`)
    }
  }
  return problems
}
