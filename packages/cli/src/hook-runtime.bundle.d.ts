// Types of dist/hook-runtime.bundle.js, the bundled form of hook-runtime.ts written by scripts/bundle-runtime.mjs.
export * from './hook-runtime.js'
