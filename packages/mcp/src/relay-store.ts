import type { Logger } from '@agent-comm/protocol'
import { SecretStore, secretEnvName } from '@agent-comm/transport-http/secrets'
import type { RelaySecrets } from './relay-secrets.js'

/**
 * The relay secret store in `dataDir` (its `secrets.json`, shared with the relay and the CLI) as the relay
 * tools use it: each generated secret comes with the environment variable its agent reads it from.
 */
export async function openRelaySecrets(dataDir: string, logger: Logger): Promise<RelaySecrets> {
  const store = await SecretStore.open({ path: SecretStore.fileIn(dataDir), logger })
  return {
    async generate(agentId, options) {
      const issued = await store.generate(agentId, options?.replace === true ? { replace: true } : {})
      return { ...issued, envVar: secretEnvName(issued.agentId) }
    },
    list: () => store.list(),
  }
}
