export type { CoordinatorConfig } from './config.js'
export { CONFIG_VARIABLES, loadConfig } from './config.js'
export type {
  CoordinatorDeps,
  CoordinatorSettings,
  MessageRef,
  PollOptions,
  ReplyFields,
  SendOptions,
  SendReport,
} from './coordinator.js'
export { Coordinator } from './coordinator.js'
export { describeDatabase, isPostgresUrl } from './database-url.js'
export type { CreateCoordinatorOptions } from './open.js'
export { createCoordinator } from './open.js'
export type { DefaultRoute, TransportFactory, TransportSet } from './routing.js'
export { TransportRouter } from './routing.js'
export { describeAgentTransports } from './setup-summary.js'
