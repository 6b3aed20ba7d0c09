import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkImports, checkMetadata, checkReadme, checkTarball } from '../static-checks.mjs'
import { EXAMPLE, README, samplePackage, samplePackageFixture, write } from './fixture.mjs'

const roots = []
/** A fresh sample package, removed after the test. */
function sample(pkg) {
  const fixture = samplePackageFixture(pkg)
  roots.push(fixture.root)
  return fixture
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

describe('the static checks on a correct package', () => {
  it('find no problem, so each failure below comes from the one thing the test breaks', async () => {
    const { workspace, entry, plan, unpacked } = sample()
    expect(checkMetadata(entry, workspace)).toEqual([])
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual([])
    expect(await checkImports(entry, unpacked)).toEqual([])
    expect(checkReadme(entry, plan)).toEqual([])
  })
})

describe('checkReadme', () => {
  it('fails a README whose first code block is not the install line', () => {
    const { entry, plan } = sample()
    writeFileSync(
      join(entry.dir, 'README.md'),
      README.replace('npm install @agent-comm/sample', 'pnpm add @agent-comm/sample'),
    )
    expect(checkReadme(entry, plan)).toEqual(['README.md: the first code block is not an `npm install` line'])
  })

  it('fails an install line that leaves out a package the example imports', () => {
    const { entry } = sample()
    const plan = { install: ['@agent-comm/sample', '@agent-comm/protocol'], example: 'examples/hello.ts' }
    expect(checkReadme(entry, plan)).toEqual([
      'README.md: no install line installs @agent-comm/sample @agent-comm/protocol',
    ])
  })

  it('fails a README that does not start with the package name as its title', () => {
    const { entry, plan } = sample()
    writeFileSync(join(entry.dir, 'README.md'), `Intro\n\n${README}`)
    expect(checkReadme(entry, plan)).toEqual(["README.md does not start with '# @agent-comm/sample'"])
  })

  it('fails a README whose example block differs from the example file', () => {
    const { entry, plan } = sample()
    write(entry.dir, { 'examples/hello.ts': `${EXAMPLE}console.log('and more')\n` })
    expect(checkReadme(entry, plan)).toEqual([
      'README.md: the first ts block is not examples/hello.ts as it is (copy the file into it)',
    ])
  })
})

describe('checkImports', () => {
  it('fails code that imports a package the package does not declare', async () => {
    const { entry, unpacked } = sample()
    write(unpacked, { 'dist/extra.js': "import fastify from 'fastify'\nexport default fastify\n" })
    expect(await checkImports(entry, unpacked)).toEqual([
      'dist/extra.js imports fastify, but fastify is not a dependency',
    ])
  })

  it('fails code that imports a devDependency, which users do not get', async () => {
    const { entry, unpacked } = sample()
    write(unpacked, { 'dist/extra.js': "export const load = () => import('vitest/config')\n" })
    expect(await checkImports(entry, unpacked)).toEqual([
      'dist/extra.js imports vitest/config, but vitest is not a dependency (it is only a devDependency)',
    ])
  })

  it('fails declarations that import an undeclared package', async () => {
    const { entry, unpacked } = sample()
    write(unpacked, {
      'dist/hello.d.ts': "import type { Pino } from 'pino'\nexport declare const hello: Pino\n",
    })
    expect(await checkImports(entry, unpacked)).toEqual([
      'dist/hello.d.ts imports pino, but pino is not a dependency',
    ])
  })

  it('fails a relative import of a file that is not in the tarball', async () => {
    const { entry, unpacked } = sample()
    write(unpacked, { 'dist/index.js': "export { hello } from './missing.js'\n" })
    expect(await checkImports(entry, unpacked)).toEqual([
      'dist/index.js imports ./missing.js, which is not in the tarball',
    ])
  })
})

describe('checkTarball', () => {
  it('fails a tarball without a LICENSE', () => {
    const { workspace, entry, plan, unpacked } = sample()
    rmSync(join(unpacked, 'LICENSE'))
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual(['LICENSE is not in the tarball'])
  })

  it('fails a tarball that ships the build info tsc leaves in dist', () => {
    const { workspace, entry, plan, unpacked } = sample()
    write(unpacked, { 'dist/.tsbuildinfo': '{}' })
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual([
      'the tarball holds dist/.tsbuildinfo, which users do not need',
    ])
  })

  it('fails a compiled module whose source is gone (stale build output)', () => {
    const { workspace, entry, plan, unpacked } = sample()
    write(unpacked, { 'dist/removed.js': 'export {}\n' })
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual([
      'dist/removed.js has no src/removed.ts: stale build output? (rm -rf dist and build again)',
    ])
  })

  it('fails a bundle chunk that no shipped file loads (left over from an earlier build), not one that is loaded', () => {
    const { workspace, entry, plan, unpacked } = sample()
    const bundled = { ...plan, generated: /^dist\/app\.(bundle|chunk\.)/ }
    write(unpacked, {
      'dist/app.bundle.js': 'export const load = () => import("./app.chunk.http-NEW1.js")\n',
      'dist/app.chunk.http-NEW1.js': 'export {}\n',
      'dist/app.chunk.http-OLD0.js': 'export {}\n',
    })
    expect(checkTarball(entry, bundled, unpacked, workspace)).toEqual([
      'dist/app.chunk.http-OLD0.js is loaded by no file in the tarball: a chunk left over from an earlier build?',
    ])
  })

  it('fails a packed dependency range still written as workspace:', () => {
    const { workspace, entry, plan, unpacked } = sample()
    const packed = samplePackage({ dependencies: { zod: 'workspace:^' } })
    write(unpacked, { 'package.json': JSON.stringify(packed) })
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual([
      "packed dependencies.zod is still 'workspace:^'",
    ])
  })

  it('fails an entry point that is not in the tarball', () => {
    const { workspace, entry, plan, unpacked } = sample()
    rmSync(join(unpacked, 'dist', 'index.d.ts'))
    expect(checkTarball(entry, plan, unpacked, workspace)).toEqual([
      './dist/index.d.ts (an entry point) is not in the tarball',
    ])
  })
})

describe('checkMetadata', () => {
  it.each([
    ['description', 'description is missing or too short'],
    ['keywords', 'keywords: at least three'],
    ['license', "license is 'undefined', not MIT"],
    ['engines', "engines.node 'undefined' is not '>=X.Y'"],
    ['publishConfig', 'publishConfig.access is not public'],
    ['files', 'files is missing'],
  ])('fails a package.json without %s', (field, problem) => {
    const pkg = samplePackage()
    delete pkg[field]
    const { workspace, entry } = sample(pkg)
    expect(checkMetadata(entry, workspace)).toEqual([problem])
  })

  it('fails a package without a LICENSE file', () => {
    const { workspace, entry } = sample()
    rmSync(join(entry.dir, 'LICENSE'))
    expect(checkMetadata(entry, workspace)).toEqual(['no LICENSE file'])
  })

  it('fails an export whose types do not come first', () => {
    const pkg = samplePackage({
      exports: {
        '.': { default: './dist/index.js', types: './dist/index.d.ts' },
        './package.json': './package.json',
      },
    })
    const { workspace, entry } = sample(pkg)
    expect(checkMetadata(entry, workspace)).toEqual(["exports['.'] needs 'types' first, then 'default'"])
  })
})
