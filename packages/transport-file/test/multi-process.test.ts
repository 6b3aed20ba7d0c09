import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { describe, expect, it } from 'vitest'
import { DeliveryRecordSchema, FileTransport } from '../src/index.js'
import { listFiles, onCleanup, tempDir } from './helpers.js'
import { jsonLine, readyOn, startFixture } from './processes.js'

/** Several Node processes on a loaded 2-core machine can take minutes; the bound catches a hang only. */
const MULTI_PROCESS_TIMEOUT_MS = 300_000

interface WorkerReport {
  claimed?: string[]
  acked?: string[]
  error?: string
}

describe('many processes on one folder', { timeout: MULTI_PROCESS_TIMEOUT_MS }, () => {
  it('lets 3 worker processes ack 500 messages exactly once, with none handed out twice and none lost', async () => {
    const root = join(tempDir(), 'shared')
    const done = join(tempDir(), 'all-sent')
    const transport = new FileTransport({ root })
    onCleanup(() => transport.close())
    const ids: string[] = []
    const sendMany = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        const message = createMessage({ fromAgent: 'producer', toAgent: 'builder', body: `job ${i}` })
        ids.push((await transport.send(message)).messageId)
      }
    }
    // The workers start first and wait, so that all three share the work however slowly each starts.
    const children = Array.from({ length: 3 }, () => startFixture('worker.mjs', [root, 'builder', done]))
    const workers = children.map((child) => jsonLine<WorkerReport>(child))
    await Promise.all(children.map((child) => readyOn(child)))
    await sendMany(0, 500)
    writeFileSync(done, '')
    const reports = await Promise.all(workers)

    for (const report of reports) expect(report.error).toBeUndefined()
    const claimed = reports.flatMap((r) => r.claimed ?? [])
    const acked = reports.flatMap((r) => r.acked ?? [])
    expect(claimed).toHaveLength(500)
    expect(new Set(claimed).size).toBe(500)
    expect(acked).toHaveLength(500)
    expect(new Set(acked)).toEqual(new Set(ids))
    expect(reports.filter((r) => (r.acked?.length ?? 0) > 0).length).toBeGreaterThan(1)

    const files = listFiles(root)
    expect(files.filter((f) => f.startsWith('acked/builder/'))).toHaveLength(500)
    expect(files.filter((f) => !f.startsWith('acked/') && !f.startsWith('messages/'))).toEqual([])
    for (const id of ids.slice(0, 50)) {
      const record = DeliveryRecordSchema.parse(
        JSON.parse(readFileSync(join(root, 'acked/builder', `${id}.json`), 'utf8')),
      )
      // Handed out once: no lease was ever lost and redelivered.
      expect(record.delivery).toMatchObject({ status: 'acked', attempt: 1 })
    }
  })
})
