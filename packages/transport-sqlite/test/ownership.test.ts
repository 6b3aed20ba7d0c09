import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMessage } from '@agent-comm/protocol'
import { Spool } from '@agent-comm/spool'
import { afterEach, describe, expect, it } from 'vitest'
import { SqliteTransport } from '../src/index.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-comm-sqlite-transport-'))
  dirs.push(dir)
  return join(dir, 'spool.db')
}

describe('SqliteTransport and its spool', () => {
  it('leaves a spool it was given open when it closes', async () => {
    const spool = await Spool.open({ path: tempDb() })
    const transport = new SqliteTransport(spool)
    await transport.close()
    await expect(
      spool.send(createMessage({ fromAgent: 'a', toAgent: 'b', body: 'still open' })),
    ).resolves.toMatchObject({
      deliveries: 1,
    })
    await spool.close()
  })

  it('closes a spool it opened itself', async () => {
    const transport = await SqliteTransport.open({ path: tempDb() })
    await transport.close()
    await expect(transport.spool.stats()).rejects.toMatchObject({ code: 'CLOSED' })
  })
})
