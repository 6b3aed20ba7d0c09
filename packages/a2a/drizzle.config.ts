import { defineConfig } from 'drizzle-kit'

// `pnpm db:generate` writes a new migration into ./drizzle after src/sqlite/schema.ts changes.
export default defineConfig({ dialect: 'sqlite', schema: './src/sqlite/schema.ts', out: './drizzle' })
