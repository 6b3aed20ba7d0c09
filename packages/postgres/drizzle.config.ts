import { defineConfig } from 'drizzle-kit'

// `pnpm db:generate` writes a new migration into ./drizzle after src/schema.ts (or another schema file
// listed below) changes. Migrations are generated for the default schema name (`agent_comm`); the
// applier substitutes the configured one.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/schema.ts', './src/relay/console-schema.ts', './src/a2a-schema.ts'],
  out: './drizzle',
})
