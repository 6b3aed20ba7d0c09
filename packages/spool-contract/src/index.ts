export type {
  ConcurrencyOptions,
  ContractSpool,
  OpenedSpool,
  SpoolContractOptions,
  SpoolFactory,
} from './context.js'
export { describeSpoolContract } from './contract.js'
