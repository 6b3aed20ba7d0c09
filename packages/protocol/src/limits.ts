/** Size limits of the protocol. Bodies can be allowed larger by a spool option; the rest are fixed. */
export const Limits = {
  agentIdMaxLength: 128,
  /** Longest message or conversation id, in characters. */
  idMaxLength: 128,
  subjectMaxBytes: 1024,
  bodyMaxBytes: 1024 * 1024,
  capabilityMaxLength: 64,
  /**
   * Deepest nesting of arrays and objects in one free-form JSON value (`metadata`, `payload.data`): `{}` is
   * 1 level deep, `{"a":{}}` 2. Deeper values are refused before anything recurses into them, so a hostile
   * value cannot overflow the stack of the relay or of the agent receiving it.
   */
  jsonMaxDepth: 64,
  /** Largest free-form JSON value, as compact JSON text (what `JSON.stringify` writes), in UTF-8 bytes. */
  jsonMaxBytes: 1024 * 1024,
  /** Most object keys in one free-form JSON value, counted over every object in it. */
  jsonMaxKeys: 10_000,
} as const

/** UTF-8 byte length of a string. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
