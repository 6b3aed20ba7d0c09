#!/usr/bin/env bash
# The Quick Test of the original implementation guide, with this CLI: register two agents, send a
# message, poll it as the recipient and acknowledge it with the id captured from `send`.
# Usage: AGENT_COMM=/path/to/bin/run.js AGENT_COMM_DB_PATH=/tmp/x.db bash quick-test.sh
# Without AGENT_COMM it runs the `agent-comm` on PATH: the packaging check (scripts/verify-packages) runs it
# that way against the CLI installed from its tarball.
set -euo pipefail

if [ -n "${AGENT_COMM:-}" ]; then
  agent-comm() { node "$AGENT_COMM" "$@"; }
fi

# QUICK_TEST_REGISTER_FLAGS, if set, is added to both registrations: the relay's tests run this very
# sequence with http agents ("--transport-type http --relay-url URL") through nginx in front of two replicas
# (apps/relay/test/nginx-replicas.test.ts), with AGENT_COMM_SECRET_AGENT_A and _AGENT_B set.
read -r -a register_flags <<< "${QUICK_TEST_REGISTER_FLAGS:-}"

# Register two agents
agent-comm register agent-a -c "send,receive" -d local "${register_flags[@]}"
agent-comm register agent-b -c "send,receive" -d local "${register_flags[@]}"

# Send a message (stdout is not a terminal here, so send prints only the id)
id=$(agent-comm send agent-a agent-b "Hello from A!" -s "Greeting")
echo "sent: $id"

# Poll as recipient
agent-comm poll agent-b

# Acknowledge
agent-comm ack "$id" agent-b

# The delivery is now acked
agent-comm status "$id" --json | grep -q '"status": "acked"'
echo "quick test passed"
