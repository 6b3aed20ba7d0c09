import { testCleanups } from '@agent-comm/test-support'

/** Cleanups after each test, and temporary folders removed with them. */
export const { onCleanup, tempDir } = testCleanups('agent-comm-http-test-')
