import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * Packages the coordinator loads on first use rather than when it is imported (see the README's "Import
 * time"): `@opentelemetry/api` (51 module files) when the first span is made, `@agent-comm/transport-file`
 * (10) when the first file transport is. Both are ES modules needed by synchronous code (a tracing helper,
 * a transport factory), so they are `require`d: Node loads an ES module synchronously that way, and the
 * instance is the one an `import` of the same entry gets, so the application and the coordinator share it.
 *
 * A bundler cannot follow these calls: the CLI's runtime bundle replaces this file with one that imports
 * the file transport statically and requires the API's ES module entry the same way, from the CLI's own
 * dependencies, so the process keeps one copy of the API (`packages/cli/scripts/bundle-runtime.mjs`).
 * Keep the two function names.
 */
const require = createRequire(import.meta.url)

/** `@opentelemetry/api`, from the entry an `import` resolves to (its ES module build, not the CommonJS one). */
export function loadOpenTelemetryApi(): typeof import('@opentelemetry/api') {
  return require(
    fileURLToPath(import.meta.resolve('@opentelemetry/api')),
  ) as typeof import('@opentelemetry/api')
}

/** `@agent-comm/transport-file`. */
export function loadFileTransport(): typeof import('@agent-comm/transport-file') {
  return require('@agent-comm/transport-file') as typeof import('@agent-comm/transport-file')
}
