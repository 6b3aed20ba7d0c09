import { describe, expect, it } from 'vitest'
import { startCommand } from '../workspace.mjs'

const node = (source) =>
  startCommand(process.execPath, ['-e', source], { cwd: process.cwd(), env: process.env })

describe('a block that runs until stopped', () => {
  it('is ready when a line of its output matches, and stops with SIGINT as from Ctrl-C', async () => {
    const server = node(
      "process.once('SIGINT', () => { console.log('bye'); process.exit(0) }); console.error('listening on 1'); setInterval(() => {}, 1000)",
    )
    await server.ready(/listening on \d/, 60_000)
    const end = await server.stop(30_000)
    expect(end).toMatchObject({ code: 0, timedOut: false })
    expect(end.stdout).toBe('bye\n')
  })

  it('is not ready when it exits before printing the line, with its exit code and output', async () => {
    const server = node("console.error('port taken'); process.exit(3)")
    await expect(server.ready(/listening/, 60_000)).rejects.toMatchObject({
      message: 'exited before it was ready',
      code: 3,
      stderr: 'port taken\n',
    })
  })

  it('reports a block that SIGINT does not stop, and kills it', async () => {
    const server = node("process.on('SIGINT', () => {}); console.log('up'); setInterval(() => {}, 1000)")
    await server.ready(/up/, 60_000)
    // The bound only ends a block that ignores SIGINT; a loaded machine cannot make this one pass wrongly.
    const end = await server.stop(500)
    expect(end).toMatchObject({ timedOut: true, signal: 'SIGKILL' })
  })
})
