// Regenerates schema/*.schema.json from the built zod schemas: `pnpm --filter @agent-comm/protocol gen:schema`.
import { writeFileSync } from 'node:fs'
import {
  approvalRequestJsonSchema,
  approvalResponseJsonSchema,
  messageV2JsonSchema,
} from '../dist/json-schema.js'

const files = {
  'message-v2.schema.json': messageV2JsonSchema(),
  'approval-request.schema.json': approvalRequestJsonSchema(),
  'approval-response.schema.json': approvalResponseJsonSchema(),
}
for (const [name, schema] of Object.entries(files)) {
  const target = new URL(`../schema/${name}`, import.meta.url)
  writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`)
  process.stdout.write(`wrote ${target.pathname}\n`)
}
