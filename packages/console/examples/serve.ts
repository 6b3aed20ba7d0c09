import { consolePlugin } from '@agent-comm/console'
import Fastify from 'fastify'

// The relay mounts the console this way at /console; any fastify app can serve the page.
const app = Fastify()
await app.register(consolePlugin, { prefix: '/console' })
const page = await app.inject({ url: '/console/' })
const csp = String(page.headers['content-security-policy'])
console.log(
  `console page: ${page.statusCode}, scripts from ${csp.includes("script-src 'self'") ? 'self only' : 'anywhere'}`,
)
await app.close()
