import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

// The built page is committed in web-dist/ and shipped in the package: installers never run this build.
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: '../web-dist',
    emptyOutDir: true,
    // No inline scripts or styles (the CSP allows neither), no source maps shipped.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
})
