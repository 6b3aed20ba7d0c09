import { testCleanups } from '@agent-comm/test-support'

export const { onCleanup, tempDir } = testCleanups('agent-comm-secrets-test-')
