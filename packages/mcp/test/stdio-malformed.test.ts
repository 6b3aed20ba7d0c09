import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, onCleanup, tempDir } from './helpers.js'

interface Frame {
  jsonrpc: string
  id?: string | number | null
  result?: { isError?: boolean; content?: { text: string }[]; tools?: unknown[] }
  error?: { code: number; message: string }
}

/** The bin on a fresh SQLite file, initialized, with the frames it wrote so far. */
async function started(): Promise<{
  child: ChildProcess
  frames: () => Frame[]
  line: (text: string) => void
}> {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', AGENT_COMM_DB_PATH: join(tempDir(), 'spool.db') },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  let stdout = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr!.resume()
  const frames = (): Frame[] =>
    stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Frame)
  const line = (text: string): void => {
    child.stdin!.write(`${text}\n`)
  }
  line(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  )
  await expect.poll(() => frames().some((f) => f.id === 'init')).toBe(true)
  line(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))
  return { child, frames, line }
}

/** Sends `text` as one line and returns the frames it was answered with (after a `ping` marker). */
async function answersTo(
  run: Awaited<ReturnType<typeof started>>,
  text: string,
  marker: number,
): Promise<Frame[]> {
  const before = run.frames().length
  run.line(text)
  run.line(JSON.stringify({ jsonrpc: '2.0', id: `ping-${marker}`, method: 'ping' }))
  await expect.poll(() => run.frames().some((f) => f.id === `ping-${marker}`)).toBe(true)
  // Answers come in order here: the bad line's (if any) is written before the ping is read.
  return run
    .frames()
    .slice(before)
    .filter((f) => f.id !== `ping-${marker}`)
}

describe('malformed JSON-RPC over stdio', () => {
  it('answers a line that is not JSON with -32700 and id null, and keeps serving', async () => {
    const run = await started()
    let marker = 0
    for (const bad of [
      'this is not json',
      '{"jsonrpc":"2.0","id":999,"method":',
      '{"jsonrpc":"2.0","id":17,"method":"tools/list"}\u0000',
    ]) {
      const answers = await answersTo(run, bad, marker++)
      expect(answers, bad).toEqual([
        { jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } },
      ])
    }
    // A blank line is no message: nothing to answer.
    expect(await answersTo(run, '   ', marker++)).toEqual([])
    run.line(JSON.stringify({ jsonrpc: '2.0', id: 20, method: 'tools/list' }))
    await expect.poll(() => run.frames().find((f) => f.id === 20)?.result?.tools?.length).toBeGreaterThan(0)
  })

  it('answers an invalid request with -32600 and its id when it has a usable one', async () => {
    const run = await started()
    const cases: [string, (string | number | null)[], RegExp][] = [
      ['{"id":10,"method":"tools/list"}', [10], /"jsonrpc": "2.0"/],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', [null], /id must be a string or an integer/],
      ['{"jsonrpc":"2.0","id":"x","method":5}', ['x'], /"method" string/],
      ['{"jsonrpc":"2.0","id":12,"method":"tools/list","params":"x"}', [12], /"params" must be an object/],
      [
        '[{"jsonrpc":"2.0","id":11,"method":"tools/list"},{"jsonrpc":"2.0","id":"b","method":"ping"}]',
        [11, 'b'],
        /batches are not supported/,
      ],
      ['[]', [null], /batches are not supported/],
      ['42', [null], /must be a JSON object/],
    ]
    let marker = 0
    for (const [bad, ids, message] of cases) {
      const answers = await answersTo(run, bad, marker++)
      expect(
        answers.map((a) => a.id),
        bad,
      ).toEqual(ids)
      for (const answer of answers) {
        expect(answer.error?.code, bad).toBe(-32600)
        expect(answer.error?.message, bad).toMatch(message)
      }
    }
    // A malformed response is never answered (an answer to it could start an endless exchange).
    expect(await answersTo(run, '{"jsonrpc":"2.0","id":99,"result":1}', marker++)).toEqual([])
  })

  it('answers params that do not fit the method with -32602 and a readable message', async () => {
    const run = await started()
    let marker = 0
    for (const [params, field] of [
      [{ name: 5 }, 'params.name: expected string, received number'],
      [undefined, 'params: expected object, received undefined'],
      [{ name: 'comm_spool_stats', arguments: 'x' }, 'params.arguments'],
    ] as const) {
      const request = {
        jsonrpc: '2.0',
        id: 13,
        method: 'tools/call',
        ...(params === undefined ? {} : { params }),
      }
      const [answer] = await answersTo(run, JSON.stringify(request), marker++)
      expect(answer!.id).toBe(13)
      expect(answer!.error?.code).toBe(-32602)
      expect(answer!.error?.message).toMatch(/^Invalid params for tools\/call: /)
      expect(answer!.error?.message).toContain(field)
      expect(answer!.error?.message).not.toContain('invalid_type')
    }
    const [read] = await answersTo(
      run,
      JSON.stringify({ jsonrpc: '2.0', id: 14, method: 'resources/read', params: { uri: 5 } }),
      marker++,
    )
    expect(read!.error).toMatchObject({ code: -32602, message: expect.stringContaining('params.uri') })
  })

  it('names a __proto__ argument as the unknown parameter it is', async () => {
    const run = await started()
    const line =
      '{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"name":"comm_send","arguments":' +
      '{"from_agent":"alice","to_agent":"bob","body":"x","__proto__":{"allow_unregistered":true}}}}'
    const [answer] = await answersTo(run, line, 0)
    expect(answer!.result?.isError).toBe(true)
    const text = answer!.result?.content?.[0]?.text ?? ''
    expect(text).toMatch(/^VALIDATION: Invalid arguments for comm_send: __proto__: unknown parameter/)
    expect(text).not.toContain('[object Object]')
  })
})
