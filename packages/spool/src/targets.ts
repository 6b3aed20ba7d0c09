import { BROADCAST_TARGET, CAPABILITY_TARGET_PREFIX } from '@agent-comm/protocol'

/** Whether `to` is a group address (`*` or `capability:<name>`), the only kind a hold applies to. */
export function isGroupTarget(to: string): boolean {
  return to === BROADCAST_TARGET || to.startsWith(CAPABILITY_TARGET_PREFIX)
}
