// Regenerates schema/message-v2.schema.json from the built zod schema: `pnpm --filter @agent-comm/protocol gen:schema`.
import { writeFileSync } from 'node:fs'
import { messageV2JsonSchema } from '../dist/json-schema.js'

const target = new URL('../schema/message-v2.schema.json', import.meta.url)
writeFileSync(target, `${JSON.stringify(messageV2JsonSchema(), null, 2)}\n`)
process.stdout.write(`wrote ${target.pathname}\n`)
