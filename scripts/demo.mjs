// The spool demo: an architect hands a task to a builder through a durable SQLite spool, the builder
// claims it, replies in the same conversation, and both ack. Run with `pnpm demo` after `pnpm install`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Spool } from '@agent-comm/spool'

const dir = mkdtempSync(join(tmpdir(), 'agent-comm-demo-'))
const path = join(dir, 'coordination.db')
const say = (step, text) => process.stdout.write(`${step.padEnd(9)} ${text}\n`)

const spool = await Spool.open({ path })
try {
  say('open', `spool on ${path}`)
  const task = await spool.send({
    fromAgent: 'architect',
    toAgent: 'builder',
    subject: 'Task: Auth Module',
    body: 'Please implement user authentication with JWT tokens.',
    priority: 'high',
    payload: { type: 'task_assignment', data: { feature: 'auth' } },
  })
  say('send', `architect -> builder ${task.messageId} "Task: Auth Module" [high]`)

  const [claimed] = await spool.claim('builder', { limit: 1, leaseSeconds: 30 })
  say(
    'poll',
    `builder claimed ${claimed.message.id} (attempt ${claimed.lease.attempt}, lease until ${claimed.lease.leaseUntil})`,
  )

  const reply = await spool.send({
    fromAgent: 'builder',
    toAgent: 'architect',
    subject: `Re: ${claimed.message.subject}`,
    body: 'Auth module complete. PR #456 ready for review.',
    routing: { replyTo: claimed.message.id, conversationId: claimed.message.routing.conversationId },
    payload: { type: 'task_result', data: { pr: 456 } },
  })
  say('reply', `builder -> architect ${reply.messageId} in ${claimed.message.routing.conversationId}`)
  await spool.ack(claimed.message.id, 'builder', { receipt: claimed.lease.receipt })
  say('ack', `builder acked ${claimed.message.id}`)

  const [answer] = await spool.claim('architect')
  say('poll', `architect got "${answer.message.subject}": ${answer.message.body}`)
  await spool.ack(answer.message.id, 'architect', { receipt: answer.lease.receipt })
  say('ack', `architect acked ${answer.message.id}`)

  const thread = await spool.conversation(claimed.message.routing.conversationId)
  say('thread', thread.map((m) => `${m.fromAgent}: ${m.subject}`).join(' | '))
  const stats = await spool.stats()
  say('stats', JSON.stringify(stats.deliveries))
} finally {
  await spool.close()
  rmSync(dir, { recursive: true, force: true })
}
