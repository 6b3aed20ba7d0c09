import { defineConfig } from 'drizzle-kit'

// `pnpm db:generate` writes a new migration into ./drizzle after src/schema.ts changes.
export default defineConfig({
  dialect: 'sqlite',
  schema: ['./src/schema.ts', './src/console-schema.ts'],
  out: './drizzle',
})
