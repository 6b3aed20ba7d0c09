// Everything the commands use at run time from the library packages, in one module that the build
// bundles into dist/runtime.bundle.js (see scripts/bundle-runtime.mjs and the README's "Startup time").
// Commands load it lazily, through the composition root, so `--help` never pays for it.

export { BridgeRunner, CommandBridge, FunctionBridge, HttpBridge } from '@agent-comm/bridge'
export { createCoordinator, loadConfig } from '@agent-comm/coordinator'
export {
  AgentCommError,
  isAgentCommError,
  JsonObjectSchema,
  JsonValueSchema,
  parseOrThrow,
  StorageError,
  ValidationError,
} from '@agent-comm/protocol'
