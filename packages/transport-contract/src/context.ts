import type {
  ManualClock,
  MessageInput,
  MessageV2,
  SendResult,
  Transport,
  TransportSendOptions,
} from '@agent-comm/protocol'
import { createMessage, IdGenerator } from '@agent-comm/protocol'

/** What a transport under test gives the contract suite: the transport, the clock it reads, and a way to dispose of it. */
export interface TransportFixture {
  transport: Transport
  /** The only source of time the transport reads; the suite moves it forward instead of sleeping. */
  clock: ManualClock
  /** Closes the transport and removes whatever the fixture created (files, servers). Called after every case. */
  teardown(): Promise<void>
}

/** Builds a fresh, empty transport for one contract case. */
export type TransportFixtureFactory = () => Promise<TransportFixture>

/**
 * The state one contract case works with: the current fixture and helpers that build messages on its clock.
 * A fresh fixture is made before every case, so cases never see each other's messages.
 */
export class ContractContext {
  #fixture: TransportFixture | undefined
  #ids: IdGenerator | undefined

  /** Installs the fixture of the case about to run. */
  use(fixture: TransportFixture): void {
    this.#fixture = fixture
    this.#ids = new IdGenerator(fixture.clock)
  }

  /** Removes and returns the fixture of the case that just ran. */
  release(): TransportFixture | undefined {
    const fixture = this.#fixture
    this.#fixture = undefined
    return fixture
  }

  get transport(): Transport {
    return this.#current().transport
  }

  get clock(): ManualClock {
    return this.#current().clock
  }

  /** A valid message stamped with the fixture's clock; by default a task from `architect` to `builder`. */
  message(fields: Partial<MessageInput> = {}): MessageV2 {
    return createMessage(
      { fromAgent: 'architect', toAgent: 'builder', subject: 'Task', body: 'Implement auth', ...fields },
      { clock: this.clock, ids: this.#ids },
    )
  }

  /** Sends {@link message}`(fields)` with `options`. */
  send(fields: Partial<MessageInput> = {}, options?: TransportSendOptions): Promise<SendResult> {
    return this.transport.send(this.message(fields), options)
  }

  /** Sends {@link message}`()` and claims it as `builder`: the message's id and the claim's lease receipt. */
  async sendAndClaim(): Promise<{ messageId: string; receipt: string }> {
    const { messageId } = await this.send()
    const [claimed] = await this.transport.claim('builder')
    if (claimed === undefined) throw new Error(`builder could not claim the message just sent (${messageId})`)
    return { messageId, receipt: claimed.lease.receipt }
  }

  #current(): TransportFixture {
    if (this.#fixture === undefined) throw new Error('No transport fixture: the contract setup did not run')
    return this.#fixture
  }
}
