import { join } from 'node:path'
import { AgentIdSchema, MessageIdSchema, parseOrThrow } from '@agent-comm/protocol'

/** The folders a delivery moves through, one file per delivery at any moment. */
export type DeliveryFolder = 'inbox' | 'leased' | 'acked' | 'failed'

/** The parts of a leased file's name: which message, until when, and the receipt of the claim. */
export interface LeaseName {
  messageId: string
  /** Milliseconds since the epoch at which the lease runs out. */
  leaseUntil: number
  receipt: string
}

/**
 * An agent id that is also a safe folder name. Agent ids cannot hold `/` or `\`, but `.` and `..` are valid
 * ids and would name the folder itself or its parent, so they are refused here.
 */
export const AgentFolderSchema = AgentIdSchema.refine((id) => !/^\.+$/.test(id), {
  message: 'must not consist of dots only (it would name a folder outside the agent folders)',
})

/** Validates an agent id for use as a folder name; throws `ValidationError` otherwise. */
export function agentFolder(agent: unknown): string {
  return parseOrThrow(AgentFolderSchema, agent, 'agent id')
}

/** Validates a message id for use in a file name; throws `ValidationError` otherwise. */
export function messageFileId(messageId: unknown): string {
  return parseOrThrow(MessageIdSchema, messageId, 'message id')
}

// `~` is not allowed in message ids or receipts, so it separates the parts of a leased file name unambiguously.
const LEASE_NAME = /^([A-Za-z0-9._:@-]+)~(\d{1,16})~([0-9a-f]{8,64})\.json$/

/** `<id>~<leaseUntilMs>~<receipt>.json` */
export function leaseFileName(lease: LeaseName): string {
  return `${lease.messageId}~${lease.leaseUntil}~${lease.receipt}.json`
}

/** The lease a leased file's name describes, or undefined for any other name (temp files, strays). */
export function parseLeaseFileName(name: string): LeaseName | undefined {
  const match = LEASE_NAME.exec(name)
  if (match === null) return undefined
  return { messageId: match[1]!, leaseUntil: Number(match[2]), receipt: match[3]! }
}

/** The message id of an `<id>.json` file, or undefined for temp files and strays. */
export function messageIdOfFile(name: string): string | undefined {
  if (!name.endsWith('.json')) return undefined
  const id = name.slice(0, -'.json'.length)
  return MessageIdSchema.safeParse(id).success ? id : undefined
}

/**
 * Where everything lives under the root. Every path is built from validated ids, so nothing can point
 * outside the root.
 */
export class Layout {
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  /** `root/<folder>/<agent>` */
  folder(folder: DeliveryFolder, agent: string): string {
    return join(this.root, folder, agent)
  }

  /** `root/<inbox|acked|failed>/<agent>/<id>.json` */
  deliveryFile(folder: Exclude<DeliveryFolder, 'leased'>, agent: string, messageId: string): string {
    return join(this.root, folder, agent, `${messageId}.json`)
  }

  /** `root/leased/<agent>/<id>~<leaseUntilMs>~<receipt>.json` */
  leaseFile(agent: string, lease: LeaseName): string {
    return join(this.root, 'leased', agent, leaseFileName(lease))
  }

  /** `root/messages` */
  get messagesFolder(): string {
    return join(this.root, 'messages')
  }

  /** `root/messages/<id>.json`: the message and its recipients, kept for status. */
  messageFile(messageId: string): string {
    return join(this.root, 'messages', `${messageId}.json`)
  }
}
