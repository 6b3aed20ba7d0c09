import { describe, expect, it } from 'vitest'
import {
  compareSizeTables,
  formatSizeTable,
  replaceTableSection,
  sizeRows,
  TABLE_END,
  TABLE_START,
  tableSection,
} from '../size-table.mjs'

const KB = 1024
const MB = 1024 * 1024

/** What one run measured, in bytes; `changes` replace the protocol package's values. */
function measured(changes = {}) {
  return [
    {
      name: '@agent-comm/protocol',
      install: ['@agent-comm/protocol'],
      tarball: 39 * KB,
      unpacked: 180 * KB,
      count: 20,
      bytes: 6 * MB,
      ...changes,
    },
    {
      name: '@agent-comm/spool',
      install: ['@agent-comm/spool'],
      tarball: 65 * KB,
      unpacked: 300 * KB,
      count: 9,
      bytes: 45.8 * MB,
    },
  ]
}

/** The README's table as `--table` wrote it from `measured()`. */
const shown = formatSizeTable(sizeRows(measured()))

describe('compareSizeTables', () => {
  it('accepts the table it wrote itself', () => {
    expect(compareSizeTables(shown, sizeRows(measured()))).toEqual([])
  })

  it('lets a package’s own sizes move by 5% (a reworded README), not more', () => {
    expect(compareSizeTables(shown, sizeRows(measured({ unpacked: 189 * KB, tarball: 41 * KB })))).toEqual([])
    expect(compareSizeTables(shown, sizeRows(measured({ unpacked: 190 * KB })))).toEqual([
      '@agent-comm/protocol: unpacked (more than 5% off) is 180 kB in README.md, 190 kB now',
    ])
    expect(compareSizeTables(shown, sizeRows(measured({ tarball: 36 * KB })))).toEqual([
      '@agent-comm/protocol: the tarball (more than 5% off) is 39 kB in README.md, 36 kB now',
    ])
  })

  it('lets what the registry resolves drift up to 15% in packages and size, not more', () => {
    expect(compareSizeTables(shown, sizeRows(measured({ count: 23, bytes: 6.9 * MB })))).toEqual([])
    expect(compareSizeTables(shown, sizeRows(measured({ count: 17, bytes: 5.1 * MB })))).toEqual([])
    expect(compareSizeTables(shown, sizeRows(measured({ count: 24, bytes: 7 * MB })))).toEqual([
      '@agent-comm/protocol: packages installed (more than 15% off) is 20 in README.md, 24 now',
      '@agent-comm/protocol: size installed (more than 15% off) is 6 MB in README.md, 7 MB now',
    ])
  })

  it('fails a table whose install line is not the plan’s', () => {
    const install = ['@agent-comm/protocol', 'zod']
    expect(compareSizeTables(shown, sizeRows(measured({ install })))).toEqual([
      "@agent-comm/protocol: the install line is 'npm install @agent-comm/protocol' in README.md, 'npm install @agent-comm/protocol zod' now",
    ])
  })

  it('fails a table that misses a package or lists them in another order', () => {
    const [protocol, spool] = sizeRows(measured())
    expect(compareSizeTables(formatSizeTable([protocol]), [protocol, spool])).toEqual([
      'it lists @agent-comm/protocol; the packages are @agent-comm/protocol, @agent-comm/spool',
    ])
    expect(compareSizeTables(formatSizeTable([spool, protocol]), [protocol, spool])).toEqual([
      'it lists @agent-comm/spool, @agent-comm/protocol; the packages are @agent-comm/protocol, @agent-comm/spool',
    ])
  })

  it('fails a table in another layout, or with a row it cannot read', () => {
    const older = [
      '| package | install | tarball | packages installed | size installed |',
      '|---|---|---:|---:|---:|',
      '| `@agent-comm/protocol` | `npm install @agent-comm/protocol` | 37 kB | 2 | 6.0 MB |',
    ].join('\n')
    expect(compareSizeTables(older, sizeRows(measured()))).toEqual([
      "the header is '| package | install | tarball | packages installed | size installed |', not '| package | install | tarball | unpacked | packages installed | size installed |'",
    ])
    const edited = shown.replace('| 9 |', '| nine |')
    expect(compareSizeTables(edited, sizeRows(measured()))).toEqual([
      "cannot read the row '| `@agent-comm/spool` | `npm install @agent-comm/spool` | 65 kB | 300 kB | nine | 45.8 MB |'",
      'it lists @agent-comm/protocol; the packages are @agent-comm/protocol, @agent-comm/spool',
    ])
  })
})

describe('the README section', () => {
  const readme = `# agent-comm\n\nSizes:\n\n${TABLE_START}\nold table\n${TABLE_END}\n\n## Next\n`

  it('is read between its markers and replaced there, the rest of the README kept', () => {
    expect(tableSection(readme)).toBe('old table')
    const rewritten = replaceTableSection(readme, shown)
    expect(tableSection(rewritten)).toBe(shown)
    expect(rewritten.replace(shown, 'old table')).toBe(readme)
  })

  it('is missing when a marker is', () => {
    expect(tableSection(readme.replace(TABLE_END, ''))).toBeUndefined()
    expect(() => replaceTableSection(readme.replace(TABLE_START, ''), shown)).toThrow(/no <!-- package-sizes/)
  })
})
