// Types of dist/runtime.bundle.js, the bundled form of runtime.ts written by scripts/bundle-runtime.mjs.
export * from './runtime.js'
