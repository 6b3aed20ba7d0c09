import module from 'node:module'

// oclif as one bundled file (dist/oclif-core.bundle.cjs, built by scripts/bundle-runtime.mjs) for every
// importer — our commands and oclif's plugins alike, so there is one copy of it: loading it file by file
// (about 200 modules with semver, minimatch, tinyglobby, ejs…) was the largest part of start-up. The path
// is the same from src/ and dist/, which are siblings.
const OCLIF_BUNDLE = new URL('../dist/oclif-core.bundle.cjs', import.meta.url).href

let registered = false

/**
 * Points every later `import '@oclif/core'` of the process at the bundled oclif, with a module resolve hook.
 * Registered only when oclif is about to load (bin/run.js once `send`'s fast path has passed, or an error
 * of that fast path that is oclif's to report): a resolve hook runs on every import and require after it,
 * about 2 % of a fast-path `send`'s work.
 */
export function useOclifBundle(): void {
  if (registered) return
  registered = true
  module.registerHooks?.({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@oclif/core') return { url: OCLIF_BUNDLE, format: 'commonjs', shortCircuit: true }
      return nextResolve(specifier, context)
    },
  })
}

/** `@oclif/core`, the bundled copy (see {@link useOclifBundle}). */
export function loadOclif(): Promise<typeof import('@oclif/core')> {
  useOclifBundle()
  return import('@oclif/core')
}
