import { createRequire } from 'node:module'

/** This package's version, as reported by health and the OpenAPI document. */
export const RELAY_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version
