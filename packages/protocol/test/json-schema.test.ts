import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { messageV2JsonSchema } from '../src/json-schema.js'

describe('published JSON Schema', () => {
  it('is the committed schema/message-v2.schema.json (run `pnpm gen:schema` after changing the zod schema)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../schema/message-v2.schema.json', import.meta.url), 'utf8'),
    )
    expect(committed).toEqual(messageV2JsonSchema())
  })

  it('describes the wire fields, limits and enumerations', () => {
    const schema = messageV2JsonSchema() as {
      required: string[]
      properties: Record<string, { enum?: string[]; maxLength?: number }>
    }
    expect(schema.required).toEqual(
      expect.arrayContaining([
        'id',
        'version',
        'fromAgent',
        'toAgent',
        'subject',
        'body',
        'timestamp',
        'routing',
      ]),
    )
    expect(schema.properties.priority?.enum).toEqual(['critical', 'high', 'normal', 'low', 'urgent'])
    expect(schema.properties.subject?.maxLength).toBe(1024)
  })
})

describe('@agent-comm/protocol/vocabulary', () => {
  it('loads without zod, so a CLI can list flag choices cheaply', () => {
    const source = readFileSync(new URL('../src/vocabulary.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/^import /m)
  })
})

describe('@agent-comm/protocol/bounds', () => {
  it('loads without zod, so a CLI can check flag bounds cheaply', () => {
    const source = readFileSync(new URL('../src/bounds.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/^import /m)
  })
})
