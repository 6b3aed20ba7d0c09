// A published package as the static checks see it, correct in every respect, written to a temp dir: the
// workspace folder (package.json, LICENSE, README, example, src) and the unpacked tarball beside it. Each
// test breaks one thing and expects the check to say so.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export const EXAMPLE = "import { hello } from '@agent-comm/sample'\n\nconsole.log(hello())\n"

/** Writes `files` (path → text) under `root`. */
export function write(root, files) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
}

/** The package.json of the sample package, as pnpm packs it unless `overrides` say otherwise. */
export function samplePackage(overrides = {}) {
  return {
    name: '@agent-comm/sample',
    version: '0.1.0',
    description: 'A sample package for the packaging check’s own tests.',
    keywords: ['agent-comm', 'sample', 'test'],
    license: 'MIT',
    repository: {
      type: 'git',
      url: 'git+https://github.com/agent-comm/agent-comm.git',
      directory: 'packages/sample',
    },
    homepage: 'https://github.com/agent-comm/agent-comm/tree/main/packages/sample#readme',
    type: 'module',
    engines: { node: '>=22.12' },
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', '!dist/.tsbuildinfo', 'README.md'],
    publishConfig: { access: 'public' },
    dependencies: { zod: '^4.0.0' },
    devDependencies: { vitest: '^5.0.0' },
    ...overrides,
  }
}

export const README = `# @agent-comm/sample

\`\`\`sh
npm install @agent-comm/sample
\`\`\`

What it is.

\`\`\`ts
${EXAMPLE}\`\`\`
`

/**
 * Creates the sample package in a new temp dir. Returns what the checks take: the workspace, the entry
 * `{ dir, pkg }`, its plan and the unpacked tarball folder.
 */
export function samplePackageFixture(pkg = samplePackage()) {
  const root = mkdtempSync(join(tmpdir(), 'verify-packages-test-'))
  const dir = join(root, 'packages', 'sample')
  write(dir, {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    LICENSE: 'MIT License\n',
    'README.md': README,
    'examples/hello.ts': EXAMPLE,
    'src/index.ts': "export { hello } from './hello.js'\n",
    'src/hello.ts': "export const hello = (): string => 'hello'\n",
  })
  const unpacked = join(root, 'unpacked', 'sample')
  write(unpacked, {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    LICENSE: 'MIT License\n',
    'README.md': README,
    'dist/index.js': "export { hello } from './hello.js'\n",
    'dist/index.d.ts': "export { hello } from './hello.js'\n",
    'dist/hello.js':
      "import { z } from 'zod'\nimport { join } from 'node:path'\nexport const hello = () => z.string().parse(join('hel', 'lo'))\n",
    'dist/hello.d.ts': 'export declare const hello: () => string\n',
  })
  const workspace = { root, byName: new Map([[pkg.name, { dir, pkg }]]) }
  const plan = { install: ['@agent-comm/sample'], example: 'examples/hello.ts' }
  return { root, workspace, entry: { dir, pkg }, plan, unpacked }
}
