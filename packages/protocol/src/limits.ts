/** Size limits of the protocol. Bodies can be allowed larger by a spool option; the rest are fixed. */
export const Limits = {
  agentIdMaxLength: 128,
  subjectMaxBytes: 1024,
  bodyMaxBytes: 1024 * 1024,
  capabilityMaxLength: 64,
} as const

/** UTF-8 byte length of a string. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
