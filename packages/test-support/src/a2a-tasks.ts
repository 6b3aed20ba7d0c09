// A relay's A2A tasks aged by their times, for the tests of what cleans them up (the CLI's `cleanup`, the
// MCP server's `comm_cleanup`): the task rows and the caller's message that made each, written as the A2A
// endpoint writes them. The store is typed by what is used of it, not imported: @agent-comm/a2a's own tests
// use this package.

/** A task to write: its id, its state as stored (`completed`, `submitted`…) and how old it is. */
export interface AgedTask {
  id: string
  state: string
  ageMs: number
}

/** What {@link insertAgedTasks} and {@link keptTasks} use of an A2A store (`A2AStore` of @agent-comm/a2a). */
export interface AgedTaskStore {
  insertTask(
    record: {
      id: string
      caller: string
      agent: string
      contextId: string
      messageId: string
      state: string
      task: Record<string, unknown>
      createdAt: number
      updatedAt: number
    },
    events: Record<string, unknown>[],
    pushConfig: undefined,
    sent: { caller: string; messageId: string; taskId: string; digest: string },
  ): unknown
  getTask(id: string): unknown
}

/**
 * Writes each task, created and last updated `ageMs` before `now`, from caller `acme` to agent `helper`,
 * with one event and the caller's message `m-<id>` that made it.
 */
export async function insertAgedTasks(
  store: AgedTaskStore,
  tasks: readonly AgedTask[],
  now = Date.now(),
): Promise<void> {
  for (const { id, state, ageMs } of tasks) {
    const at = now - ageMs
    await store.insertTask(
      {
        id,
        caller: 'acme',
        agent: 'helper',
        contextId: `ctx-${id}`,
        messageId: `msg-${id}`,
        state,
        task: { id },
        createdAt: at,
        updatedAt: at,
      },
      [{ n: 1 }],
      undefined,
      { caller: 'acme', messageId: `m-${id}`, taskId: id, digest: 'd' },
    )
  }
}

/** The ids among `ids` whose task `store` still has, in the order given. */
export async function keptTasks(store: AgedTaskStore, ids: readonly string[]): Promise<string[]> {
  const kept: string[] = []
  for (const id of ids) if ((await store.getTask(id)) !== undefined) kept.push(id)
  return kept
}
