import {
  bodyDigest,
  canonicalRequest,
  readAuthHeaders,
  signRequest,
  verifySignature,
} from '@agent-comm/transport-http'

// agent-b's secret, issued on the relay (`agent-comm relay gen-secret agent-b`, @agent-comm/secrets).
const secret = 'acs_example-secret-of-agent-b'

// On agent-b's machine: sign a request with it (HttpTransport does this for every call).
const body = JSON.stringify({ limit: 10 })
const request = { method: 'POST', path: '/api/v1/agents/agent-b/claim', body }
const headers = signRequest(secret, { ...request, agentId: 'agent-b', timestamp: Date.now() })

// Back on the relay: check the headers' shape, then the signature against the agent's secrets.
const auth = readAuthHeaders(headers)
if (!auth.ok) throw new Error(`${auth.problem.header}: ${auth.problem.problem}`)
const signed = (bodySha256: string) => canonicalRequest({ ...request, ...auth.value, bodySha256 })
const secrets = [secret] // the relay: the secrets its store holds for auth.value.agentId
console.log(
  `signed by ${auth.value.agentId}: ${verifySignature(secrets, signed(bodyDigest(body)), auth.value.signature)}`,
)
console.log(`forged: ${verifySignature(secrets, signed(bodyDigest('{"limit":99}')), auth.value.signature)}`)
