import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { CONSOLE_ASSETS_DIR, consolePlugin } from '../src/index.js'

async function app() {
  const server = Fastify()
  await server.register(consolePlugin, { prefix: '/console' })
  return server
}

describe('the console plugin', () => {
  it('serves the page with a strict Content-Security-Policy and no inline code', async () => {
    const server = await app()
    const page = await server.inject({ url: '/console/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(page.body).not.toMatch(/<script>(?!<\/script>)|<style>|\son\w+=/)
    await server.close()
  })

  it('serves every built asset and answers an unknown one with a JSON 404', async () => {
    const server = await app()
    const assets = readdirSync(join(CONSOLE_ASSETS_DIR, 'assets'))
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true)
    for (const asset of assets) {
      const response = await server.inject({ url: `/console/assets/${asset}` })
      expect(response.statusCode).toBe(200)
      expect(response.headers['cache-control']).toContain('immutable')
    }
    const missing = await server.inject({ url: '/console/assets/nope.js' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.code).toBe('NOT_FOUND')
    await server.close()
  })

  it('ships at most 150 kB of JavaScript and CSS, gzipped', () => {
    const dir = join(CONSOLE_ASSETS_DIR, 'assets')
    const total = readdirSync(dir)
      .filter((f) => /\.(js|css)$/.test(f))
      .reduce((sum, f) => sum + gzipSync(readFileSync(join(dir, f))).length, 0)
    expect(total).toBeLessThanOrEqual(150 * 1024)
  })
})
