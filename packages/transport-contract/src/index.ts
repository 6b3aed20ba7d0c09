export type { TransportFixture, TransportFixtureFactory } from './context.js'
export { describeTransportContract } from './contract.js'
