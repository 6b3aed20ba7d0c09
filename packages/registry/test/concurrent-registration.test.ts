import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'
import { sqliteConnectionOf } from '@agent-comm/spool/testing'
import { describe, expect, it } from 'vitest'
import { Registry } from '../src/index.js'
import { onCleanup, tempDir } from './helpers.js'
import { runFixture } from './processes.js'

interface WriterReport {
  writer: string
  registered: number
  interleaved: number
  errors: { code?: string; message: string }[]
}

/** What writer `writer` registers on iteration `i`; must match fixtures/register-many.mjs. */
const capabilitiesOf = (writer: string, i: number): string[] => [`${writer}-${i}`, `${writer}-all`, 'common']

describe('processes registering the same agent at once', () => {
  it('end with one consistent profile from one writer and no lock errors', async () => {
    const path = join(tempDir(), 'shared.db')
    const times = 200
    // The spool creates the file (and switches it to WAL) first: two processes doing that at the same
    // moment can fail with SQLITE_BUSY inside the spool's openConnection. What races here is everything
    // after that: both processes migrate the registry's tables, then register once they are both ready.
    const spool = await Spool.open({ path })
    onCleanup(() => spool.close())
    const reports = await Promise.all(
      ['alpha', 'beta'].map((writer) =>
        runFixture<WriterReport>('register-many.mjs', [path, 'contested', writer, String(times), '2']),
      ),
    )

    for (const report of reports) {
      expect(report.errors).toEqual([])
      expect(report.registered).toBe(times)
    }
    // The writes really interleaved: a process found the other's profile between two of its own writes.
    expect(reports.reduce((sum, r) => sum + r.interleaved, 0)).toBeGreaterThan(0)

    const registry = await Registry.open({ spool })
    const contested = (await registry.list()).filter((p) => !p.agentId.startsWith('ready-'))
    expect(contested).toHaveLength(1)
    const [profile] = contested
    const { writer, i } = profile!.metadata as { writer: string; i: number }
    expect(['alpha', 'beta']).toContain(writer)
    expect(profile).toMatchObject({
      agentId: 'contested',
      device: `device-${writer}`,
      capabilities: capabilitiesOf(writer, i),
    })
    const rows = sqliteConnectionOf(spool)
      .prepare("SELECT capability FROM agent_capabilities WHERE agent_id = 'contested' ORDER BY position")
      .pluck()
      .all()
    expect(rows).toEqual(capabilitiesOf(writer, i))
    // The last write of a process is its last iteration, so whoever wrote last, it was that one.
    expect(i).toBe(times - 1)
  })
})
