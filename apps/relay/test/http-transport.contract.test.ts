import { describeTransportContract } from '@agent-comm/transport-contract'
import { startTestRelay } from './helpers.js'

// The HTTP transport against a real relay on an ephemeral 127.0.0.1 port, relay and client sharing one
// ManualClock. It lives here rather than in @agent-comm/transport-http because the relay depends on the
// transport package, never the other way round.
describeTransportContract('HTTP relay', async () => {
  const relay = await startTestRelay()
  return { transport: relay.transport('architect'), clock: relay.clock, teardown: relay.close }
})
