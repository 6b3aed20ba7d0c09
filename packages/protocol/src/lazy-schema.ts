import { z } from 'zod'

/**
 * The schema `build` returns, built on first use instead of when its module loads.
 *
 * Building a zod schema is most of what loading this package costs (about 400 schemas, a third of a CLI
 * `send`), and a program uses few of them: a send never parses an approval, a statistics report or a
 * listing's options. So each exported schema is returned at once as an object that is nothing yet — no
 * properties of its own, its prototype a trap — and becomes the schema the first time anything is read
 * from it (a parse, `.shape`, `.optional()`, `instanceof`, zod reading its `_zod`): `build` runs then, and
 * the object is made a zod clone of the result (zod's own `clone`: the same constructor on the same
 * definition, as `.check()` and `.meta()` make), with the result's parent and registry metadata. From then
 * on it is a schema like any other, the same object: schemas built from it hold it, not a copy.
 *
 * What does not go through a property read sees the difference before first use: `Object.keys`, a spread or
 * `Object.getPrototypeOf` of a schema nothing has read yet finds an empty object.
 */
export function lazySchema<T extends z.ZodType>(build: () => T): T {
  const schema: Record<PropertyKey, unknown> = Object.create(
    new Proxy(
      {},
      {
        get(_target, key, receiver) {
          materialize()
          return Reflect.get(schema, key, receiver)
        },
        has(_target, key) {
          materialize()
          return key in schema
        },
        set(_target, key, value, receiver) {
          materialize()
          return Reflect.set(schema, key, value, receiver)
        },
      },
    ),
  )
  function materialize(): void {
    const built = build() as unknown as Built
    Object.setPrototypeOf(schema, Object.getPrototypeOf(built))
    built._zod.constr.call(schema, built._zod.def)
    const made = schema as unknown as Built
    if (built._zod.parent !== undefined) made._zod.parent = built._zod.parent
    const meta = z.globalRegistry.get(built as unknown as z.ZodType)
    if (meta !== undefined) z.globalRegistry.add(made as unknown as z.ZodType, meta)
  }
  return schema as unknown as T
}

/** What `materialize` reads of a built schema: zod's internals, as `zod/v4/core`'s `clone` reads them. */
interface Built {
  _zod: {
    constr: (this: unknown, def: unknown) => unknown
    def: unknown
    parent?: unknown
  }
}
