import { createMessage, isAgentCommError, parseMessage } from '@agent-comm/protocol'

const task = createMessage({
  fromAgent: 'architect',
  toAgent: 'builder',
  subject: 'Task: Auth Module',
  body: 'Please implement user authentication with JWT tokens.',
  priority: 'high',
  payload: { type: 'task_assignment', data: { feature: 'auth' } },
})
const received = parseMessage(JSON.parse(JSON.stringify(task))) // what the other side does with wire JSON
console.log(`task ${received.id} from ${received.fromAgent} to ${received.toAgent} (${received.priority})`)

try {
  parseMessage({ ...task, priority: 'asap' })
} catch (error) {
  if (isAgentCommError(error)) console.log(`rejected: ${error.code}`) // ValidationError lists every bad field
}
