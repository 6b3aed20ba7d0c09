import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { cleanEnv, runCli, stopDemoAfterFirstStep, tempDir } from './helpers.js'

describe('demo', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'removes its temporary folder when stopped with %s, then exits %i',
    async (signal, code) => {
      const tmp = tempDir()
      const env = cleanEnv({ TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' })
      const run = await stopDemoAfterFirstStep(signal, { cwd: tempDir(), env })
      // Killed by the signal, the process would have left its folder (and reported the signal, not a code).
      expect(run.code).toBe(run.finished ? 0 : code)
      expect(readdirSync(tmp)).toEqual([])
    },
    60_000,
  )

  it('runs the two-agent walkthrough, printing each step, and leaves no files behind', async () => {
    const cwd = tempDir()
    const tmp = tempDir()
    // Its own temporary folder (TMPDIR) and Node's compile cache off, so any file left behind would show.
    const env = cleanEnv({ TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' })
    const run = await runCli(['demo'], { cwd, env })
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    const steps = [
      '[1] architect registers',
      '[2] builder registers',
      '[3] architect assigns a task to builder',
      '[4] builder polls and claims the task',
      '[5] builder replies in the same conversation',
      '[6] builder acks the task',
      '[7] architect polls and claims the result',
      '[8] architect acks the result',
    ]
    let at = -1
    for (const step of steps) {
      const index = run.stdout.indexOf(step)
      expect(index, step).toBeGreaterThan(at)
      at = index
    }
    expect(run.stdout).toContain('Payload: task_assignment')
    expect(run.stdout).toContain('Payload: task_result')
    expect(run.stdout).toMatch(/Conversation conv_\S+ \(2 message\(s\)\):/)
    expect(readdirSync(cwd)).toEqual([])
    expect(readdirSync(tmp)).toEqual([])
  })

  it('reports the steps and the conversation as JSON, ignoring AGENT_COMM_DB_PATH', async () => {
    const cwd = tempDir()
    const env = cleanEnv({ AGENT_COMM_DB_PATH: `${cwd}/must-not-exist.db`, NODE_DISABLE_COMPILE_CACHE: '1' })
    const run = await runCli(['demo', '--json'], { cwd, env })
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout) as {
      steps: { step: number; actor: string; action: string }[]
      conversationId: string
      conversation: { payload: { type: string }; routing: { conversationId: string } }[]
    }
    expect(out.steps.map((s) => s.actor)).toEqual([
      'architect',
      'builder',
      'architect',
      'builder',
      'builder',
      'builder',
      'architect',
      'architect',
    ])
    expect(out.conversation.map((m) => m.payload.type)).toEqual(['task_assignment', 'task_result'])
    expect(out.conversation.every((m) => m.routing.conversationId === out.conversationId)).toBe(true)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('has no --db flag', async () => {
    const run = await runCli(['demo', '--db', 'x.db'], { cwd: tempDir(), env: cleanEnv() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('Nonexistent flag: --db')
  })
})
