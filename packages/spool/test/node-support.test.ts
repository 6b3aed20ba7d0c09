import { describe, expect, it } from 'vitest'
import { MINIMUM_NODE_VERSION, unsupportedNodeMessage } from '../src/node-support.js'

describe('the Node.js version check', () => {
  it('refuses versions older than 22.19, saying what to install', () => {
    for (const version of ['20.20.2', 'v20.11.1', '22.18.9', '22.0.0', '18.19.0']) {
      const message = unsupportedNodeMessage(version, 'agent-comm')
      expect(message, version).toContain(`agent-comm needs Node.js ${MINIMUM_NODE_VERSION} or newer`)
      expect(message).toContain(`this is Node.js ${version.replace(/^v/, '')}`)
      expect(message).toContain('nvm install 24')
    }
  })

  it('accepts 22.19 and anything newer', () => {
    for (const version of ['22.19.0', 'v22.19.0', '22.20.1', '23.0.0', '24.21.0', '30.1.0']) {
      expect(unsupportedNodeMessage(version, 'agent-comm'), version).toBeUndefined()
    }
  })
})
