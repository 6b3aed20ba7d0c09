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

# Register two agents
agent-comm register agent-a -c "send,receive" -d local
agent-comm register agent-b -c "send,receive" -d local

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
