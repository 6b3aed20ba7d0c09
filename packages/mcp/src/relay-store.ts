import type { Logger } from '@agent-comm/protocol'
import { SecretStore } from '@agent-comm/secrets'
import type { RelaySecrets } from './relay-secrets.js'

/**
 * The relay secret store in `dataDir` (its `secrets.json`, shared with the relay and the CLI) as the relay
 * tools use it: each generated secret comes with the environment variable its agent reads it from.
 */
export async function openRelaySecrets(dataDir: string, logger: Logger): Promise<RelaySecrets> {
  // The variable is the HTTP client's rule; loaded here, so importing this package loads no HTTP client.
  const [store, { secretEnvName }] = await Promise.all([
    SecretStore.open({ path: SecretStore.fileIn(dataDir), logger }),
    import('@agent-comm/transport-http'),
  ])
  return {
    async generate(agentId, options) {
      const issued = await store.generate(agentId, options?.replace === true ? { replace: true } : {})
      return { ...issued, envVar: secretEnvName(issued.agentId) }
    },
    list: () => store.list(),
  }
}
