import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ApprovalRequestSchema, MessageV2Schema, parseOrThrow, ValidationError } from '../src/index.js'
import { lazySchema } from '../src/lazy-schema.js'

describe('lazySchema', () => {
  it('builds the schema on first use, then is that schema: same object, same answers', () => {
    let builds = 0
    const Inner = lazySchema(() => {
      builds += 1
      return z.string().check(z.minLength(1, 'must not be empty'))
    })
    const Outer = lazySchema(() => z.object({ name: Inner, count: z.number().optional() }))
    expect(builds).toBe(0)
    expect(Outer.safeParse({ name: '' }).error?.issues).toEqual([
      {
        origin: 'string',
        code: 'too_small',
        minimum: 1,
        inclusive: true,
        path: ['name'],
        message: 'must not be empty',
      },
    ])
    expect(builds).toBe(1)
    expect(Outer.parse({ name: 'x', count: 2 })).toEqual({ name: 'x', count: 2 })
    expect(Outer.shape.name).toBe(Inner)
    expect(Outer).toBeInstanceOf(z.ZodObject)
    expect(Inner).toBeInstanceOf(z.ZodString)
    expect(Outer.extend({ more: z.boolean() }).shape.name).toBe(Inner)
    expect(builds).toBe(1)
  })

  it('keeps the metadata and the JSON Schema of the schema it stands for', () => {
    const build = () =>
      z.object({ id: z.string().meta({ description: 'the id' }) }).meta({ description: 'a thing' })
    const lazy = lazySchema(build)
    expect(lazy.description).toBe('a thing')
    expect(z.toJSONSchema(lazy)).toEqual(z.toJSONSchema(build()))
  })

  it('reports the protocol errors as before', () => {
    expect(() => parseOrThrow(MessageV2Schema, { id: '' }, 'message')).toThrow(ValidationError)
    expect(ApprovalRequestSchema.safeParse({}).success).toBe(false)
  })

  it('builds none of the protocol schemas when the package loads', () => {
    // A process of its own: this file has used some of them already. A schema nothing has read yet is an
    // object with no properties of its own; a built one has zod's (`_zod`, `def`, `type`).
    const index = fileURLToPath(new URL('../dist/index.js', import.meta.url))
    const own = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const p = await import(${JSON.stringify(index)}); process.stdout.write(JSON.stringify(Object.entries(p).filter(([name, value]) => name.endsWith('Schema') && typeof value === 'object').map(([name, value]) => [name, Object.getOwnPropertyNames(value).length]).filter(([, count]) => count > 0)))`,
      ],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(own)).toEqual([])
  })
})
