import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict'
import { cleanupA2ATasks } from './cleanup.js'
import type { A2AStore, ListTasksParams, SigningKeyRecord, TaskRecord } from './store.js'

/** One behaviour every {@link A2AStore} must have, as a named check (throws on failure). */
export interface StoreCheck {
  name: string
  run(): Promise<void>
}

function signingKey(kid: string, createdAt: number): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    publicJwk: `{"kty":"EC","x":"${kid}"}`,
    sealedPrivateJwk: `sealed-${kid}`,
    createdAt,
    retiredAt: undefined,
    expiresAt: undefined,
  }
}

function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    caller: 'acme',
    agent: 'helper',
    contextId: `ctx-${id}`,
    messageId: `msg-${id}`,
    state: 'submitted',
    task: { id },
    createdAt: 1000,
    updatedAt: 1000,
    ...overrides,
  }
}

/**
 * Puts in `store`, in this order, caller acme's tasks for agent helper in context `ctx`, each made and
 * changed at the time (ms) `times` gives its id; and two changed at `othersAt` that no list of theirs shows: task `x` of another caller, task `y`
 * for another agent, both in `ctx` too.
 */
async function insertListed(
  store: A2AStore,
  times: Readonly<Record<string, number>>,
  othersAt: number,
): Promise<void> {
  for (const [id, at] of Object.entries(times))
    await store.insertTask(task(id, { contextId: 'ctx', createdAt: at, updatedAt: at }), [])
  await store.insertTask(task('x', { caller: 'other', contextId: 'ctx', updatedAt: othersAt }), [])
  await store.insertTask(task('y', { agent: 'other', contextId: 'ctx', updatedAt: othersAt }), [])
}

/**
 * The ListTasks pages a store's query-plan test explains, for caller `c1` among 20 000 tasks `t<n>`
 * changed at `n` (of 4 callers, 3 agents): the first page, a page after a cursor, and with each filter.
 * Each must be read from the index `a2a_tasks_list`, from the cursor on, unsorted.
 */
export const LIST_TASKS_PLAN_PAGES: readonly ListTasksParams[] = [
  { agent: 'a1', limit: 51 },
  { agent: 'a1', limit: 51, before: { updatedAt: 10_001, id: 't10001' } },
  { agent: 'a1', limit: 51, before: { updatedAt: 10_001, id: 't10001' }, updatedFrom: 5000 },
  { agent: 'a1', limit: 51, before: { updatedAt: 10_001, id: 't10001' }, state: 'completed' },
]

/**
 * The A2A store contract: the same checks for the SQLite and the PostgreSQL store, so both answer every
 * replica alike. `open` gives a fresh, empty store for each check. Register them with your runner:
 * `for (const check of a2aStoreChecks(open)) it(check.name, check.run)`.
 */
export function a2aStoreChecks(open: () => Promise<A2AStore>): StoreCheck[] {
  return [
    {
      name: 'keeps token hashes, finds live ones, refuses a second live token and revokes',
      run: async () => {
        const store = await open()
        await store.insertToken({
          name: 'acme',
          tokenHash: 'h1',
          agents: ['helper'],
          createdAt: 1,
          revokedAt: undefined,
        })
        deepStrictEqual((await store.tokenByHash('h1'))?.agents, ['helper'])
        await rejects(
          Promise.resolve().then(() =>
            store.insertToken({
              name: 'acme',
              tokenHash: 'h2',
              agents: undefined,
              createdAt: 2,
              revokedAt: undefined,
            }),
          ),
          (error: { code?: string }) => error.code === 'VALIDATION',
        )
        strictEqual(await store.revokeToken('acme', 3), true)
        strictEqual(await store.revokeToken('acme', 4), false)
        strictEqual(await store.tokenByHash('h1'), undefined)
        await store.insertToken({
          name: 'acme',
          tokenHash: 'h3',
          agents: undefined,
          createdAt: 5,
          revokedAt: undefined,
        })
        deepStrictEqual(
          (await store.listTokens()).map((t) => [t.name, t.tokenHash, t.agents, t.revokedAt]),
          [['acme', 'h3', undefined, undefined]],
        )
      },
    },
    {
      name: 'moves a task only from the state it is in, numbering its events in order',
      run: async () => {
        const store = await open()
        await store.insertTask(task('t1'), [{ n: 1 }])
        strictEqual(await store.taskIdForMessage('msg-t1'), 't1')
        const moved = await store.transition({
          taskId: 't1',
          from: 'submitted',
          state: 'working',
          task: { id: 't1', w: true },
          events: [{ n: 2 }, { n: 3 }],
          at: 2000,
        })
        strictEqual(moved, true)
        const lost = await store.transition({
          taskId: 't1',
          from: 'submitted',
          state: 'canceled',
          task: {},
          events: [{ n: 9 }],
          at: 2001,
        })
        strictEqual(lost, false)
        const record = await store.getTask('t1')
        strictEqual(record?.state, 'working')
        deepStrictEqual(record?.task, { id: 't1', w: true })
        deepStrictEqual(
          (await store.events('t1', 0)).map((e) => [e.seq, e.event.n]),
          [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
        )
        deepStrictEqual(
          (await store.events('t1', 2)).map((e) => e.seq),
          [3],
        )
        // After any sequence number a caller may send (a safe integer), even past 32 bits: none.
        deepStrictEqual(await store.events('t1', 3), [])
        deepStrictEqual(await store.events('t1', 3_000_000_000), [])
        deepStrictEqual(await store.events('t1', Number.MAX_SAFE_INTEGER), [])
        deepStrictEqual(
          (await store.openTasks(10)).map((t) => t.id),
          ['t1'],
        )
        await store.transition({
          taskId: 't1',
          from: ['submitted', 'working'],
          state: 'input-required',
          task: {},
          messageId: 'msg-t1b',
          events: [],
          at: 3000,
        })
        strictEqual(await store.taskIdForMessage('msg-t1b'), 't1')
        strictEqual((await store.getTask('t1'))?.messageId, 'msg-t1b')
        deepStrictEqual((await store.openTasks(10)).length, 0)
        strictEqual((await store.latestInContext('acme', 'ctx-t1'))?.id, 't1')
        strictEqual(await store.latestInContext('other', 'ctx-t1'), undefined)
        deepStrictEqual(
          (await store.listTasks('acme', { agent: 'helper', limit: 10 })).map((t) => t.id),
          ['t1'],
        )
        // Newer tasks with another agent, or another caller's, take no room in the page.
        await store.insertTask(task('t2', { agent: 'other', createdAt: 4000, updatedAt: 4000 }), [])
        await store.insertTask(task('t3', { caller: 'other', createdAt: 4000, updatedAt: 4000 }), [])
        deepStrictEqual(
          (await store.listTasks('acme', { agent: 'helper', limit: 1 })).map((t) => t.id),
          ['t1'],
        )
        deepStrictEqual(
          (await store.listTasks('acme', { agent: 'other', contextId: 'ctx-t2', limit: 1 })).map((t) => t.id),
          ['t2'],
        )
        deepStrictEqual(await store.listTasks('acme', { agent: 'helper', contextId: 'ctx-t2', limit: 5 }), [])
      },
    },
    {
      name: "pages through a caller's tasks newest first by (updated at, id), after a cursor, and counts them",
      run: async () => {
        const store = await open()
        // Ties on updated_at are broken by id compared bytewise ('B' < 'a'), on both stores alike.
        await insertListed(store, { a: 2000, B: 2000, c: 3000, d: 1000 }, 2000)
        const ids = async (before?: { updatedAt: number; id: string }, contextId?: string) =>
          (await store.listTasks('acme', { agent: 'helper', contextId, limit: 2, before })).map((t) => t.id)
        deepStrictEqual(await ids(), ['c', 'a'])
        deepStrictEqual(await ids({ updatedAt: 2000, id: 'a' }), ['B', 'd'])
        deepStrictEqual(await ids({ updatedAt: 2000, id: 'B' }), ['d'])
        deepStrictEqual(await ids({ updatedAt: 1000, id: 'd' }), [])
        deepStrictEqual(await ids({ updatedAt: 2000, id: 'a' }, 'ctx'), ['B', 'd'])
        strictEqual(await store.countTasks('acme', { agent: 'helper' }), 4)
        strictEqual(await store.countTasks('acme', { agent: 'helper', contextId: 'ctx' }), 4)
        strictEqual(await store.countTasks('acme', { agent: 'helper', contextId: 'none' }), 0)
        strictEqual(await store.countTasks('nobody', { agent: 'helper' }), 0)
        // Filtered on a state (ListTasks' status), before the page is taken and in the count.
        await store.insertTask(task('e', { contextId: 'ctx', state: 'completed', updatedAt: 500 }), [])
        deepStrictEqual(
          (await store.listTasks('acme', { agent: 'helper', state: 'completed', limit: 2 })).map((t) => t.id),
          ['e'],
        )
        strictEqual(await store.countTasks('acme', { agent: 'helper', state: 'completed' }), 1)
        strictEqual(await store.countTasks('acme', { agent: 'helper', state: 'submitted' }), 4)
        deepStrictEqual(await store.listTasks('acme', { agent: 'helper', state: 'failed', limit: 2 }), [])
      },
    },
    {
      name: 'lists and counts only the tasks changed at or after a time, paging within them',
      run: async () => {
        const store = await open()
        await insertListed(store, { old: 1000, edge: 2000, b: 3000, a: 3000, new: 4000 }, 5000)
        const ids = async (before?: { updatedAt: number; id: string }) =>
          (await store.listTasks('acme', { agent: 'helper', updatedFrom: 2000, limit: 2, before })).map(
            (t) => t.id,
          )
        // At the time itself is in ("at or after"); the filter holds on every page, not only the first.
        deepStrictEqual(await ids(), ['new', 'b'])
        deepStrictEqual(await ids({ updatedAt: 3000, id: 'b' }), ['a', 'edge'])
        deepStrictEqual(await ids({ updatedAt: 2000, id: 'edge' }), [])
        strictEqual(await store.countTasks('acme', { agent: 'helper', updatedFrom: 2000 }), 4)
        strictEqual(await store.countTasks('acme', { agent: 'helper', updatedFrom: 4001 }), 0)
        // With the other filters: each narrows the list and its count alike.
        await store.transition({
          taskId: 'b',
          from: 'submitted',
          state: 'completed',
          task: { id: 'b' },
          events: [],
          at: 3500,
        })
        const filter = { agent: 'helper', contextId: 'ctx', state: 'completed', updatedFrom: 3500 } as const
        deepStrictEqual(
          (await store.listTasks('acme', { ...filter, limit: 5 })).map((t) => t.id),
          ['b'],
        )
        strictEqual(await store.countTasks('acme', filter), 1)
        strictEqual(await store.countTasks('acme', { ...filter, updatedFrom: 3501 }), 0)
      },
    },
    {
      name: 'records each message a caller sent once: a second task or turn with its id writes nothing',
      run: async () => {
        const store = await open()
        const sent = (taskId: string, messageId = 'm1') => ({
          caller: 'acme',
          messageId,
          taskId,
          digest: 'd1',
        })
        strictEqual(await store.insertTask(task('t1'), [{ n: 1 }], undefined, sent('t1')), true)
        strictEqual(await store.insertTask(task('t2'), [{ n: 1 }], undefined, sent('t2')), false)
        strictEqual(await store.getTask('t2'), undefined)
        strictEqual(await store.taskIdForMessage('msg-t2'), undefined)
        deepStrictEqual(await store.sentMessage('acme', 'm1'), sent('t1'))
        // Another caller's message with the same id is its own.
        strictEqual(
          await store.insertTask(task('t3', { caller: 'other' }), [], undefined, {
            ...sent('t3'),
            caller: 'other',
          }),
          true,
        )
        strictEqual(await store.sentMessage('acme', 'm2'), undefined)
        await store.transition({
          taskId: 't1',
          from: 'submitted',
          state: 'input-required',
          task: {},
          events: [],
          at: 2000,
        })
        const turn = (messageId: string, spoolId: string) =>
          store.transition({
            taskId: 't1',
            from: 'input-required',
            state: 'submitted',
            task: { turn: messageId },
            messageId: spoolId,
            sent: sent('t1', messageId),
            events: [{ n: 2 }],
            at: 3000,
          })
        strictEqual(await turn('m1', 'msg-t1b'), false)
        strictEqual((await store.getTask('t1'))?.state, 'input-required')
        strictEqual(await store.taskIdForMessage('msg-t1b'), undefined)
        // Two sends of one message at once: one task, whichever comes first.
        const racing = await Promise.all(
          ['t4', 't5'].map((id) => store.insertTask(task(id), [{ n: 1 }], undefined, sent(id, 'm4'))),
        )
        deepStrictEqual(racing.filter(Boolean).length, 1)
        strictEqual((await store.sentMessage('acme', 'm4'))?.taskId, racing[0] === true ? 't4' : 't5')
        strictEqual(await turn('m3', 'msg-t1c'), true)
        deepStrictEqual((await store.getTask('t1'))?.task, { turn: 'm3' })
        strictEqual((await store.sentMessage('acme', 'm3'))?.taskId, 't1')
        // A turn whose task moved on meanwhile records nothing: its message id stays free.
        strictEqual(await turn('m5', 'msg-t1d'), false)
        strictEqual(await store.sentMessage('acme', 'm5'), undefined)
      },
    },
    {
      name: 'cleans up finished tasks past the retention and the idempotency window, never open ones',
      run: async () => {
        const store = await open()
        const now = { value: 0 }
        const clock = { now: () => now.value }
        const sent = (taskId: string) => ({ caller: 'acme', messageId: `m-${taskId}`, taskId, digest: 'd' })
        const add = (id: string, state: TaskRecord['state'], at: number) =>
          store.insertTask(
            task(id, { state, createdAt: at, updatedAt: at }),
            [{ n: 1 }],
            { taskId: id, id: 'c1', config: { url: 'https://hook.test' } },
            sent(id),
          )
        await add('done', 'completed', 1000)
        await add('failed', 'failed', 500)
        await add('recent', 'canceled', 3000)
        // Open tasks, however old, wait on their agent or caller: never removed.
        await add('queued', 'submitted', 0)
        await add('working', 'working', 0)
        await add('asking', 'input-required', 0)
        const cleanup = (dryRun = false) =>
          cleanupA2ATasks(store, { olderThanMs: 2000, idempotencyWindowMs: 5000, dryRun, clock })
        // Past the retention (2 s) but within the window (5 s): a retry still finds its task.
        now.value = 4000
        deepStrictEqual(await cleanup(), { tasks: 0, callerMessages: 0 })
        strictEqual((await store.sentMessage('acme', 'm-done'))?.taskId, 'done')
        now.value = 6000
        deepStrictEqual(await cleanup(true), { tasks: 2, callerMessages: 2 })
        strictEqual((await store.getTask('done'))?.state, 'completed')
        // A limit (one batch of a cleanup) takes the oldest first.
        deepStrictEqual(await store.removeFinishedTasks({ cutoff: 6000 - 5000, dryRun: false, limit: 1 }), {
          tasks: 1,
          callerMessages: 1,
        })
        strictEqual(await store.getTask('failed'), undefined)
        strictEqual((await store.getTask('done'))?.state, 'completed')
        deepStrictEqual(await cleanup(), { tasks: 1, callerMessages: 1 })
        for (const id of ['done', 'failed']) {
          strictEqual(await store.getTask(id), undefined)
          strictEqual(await store.sentMessage('acme', `m-${id}`), undefined)
          strictEqual(await store.taskIdForMessage(`msg-${id}`), undefined)
          deepStrictEqual(await store.events(id, 0), [])
          deepStrictEqual(await store.pushConfigs(id), [])
        }
        deepStrictEqual((await store.duePushes(now.value, 10)).map((p) => p.taskId).sort(), [
          'asking',
          'queued',
          'recent',
          'working',
        ])
        for (const id of ['recent', 'queued', 'working', 'asking']) {
          ok(await store.getTask(id), id)
          strictEqual((await store.sentMessage('acme', `m-${id}`))?.taskId, id)
        }
        // A retention longer than the window is the one that holds.
        now.value = 4000 + 3000
        deepStrictEqual(await cleanupA2ATasks(store, { olderThanMs: 4001, idempotencyWindowMs: 1, clock }), {
          tasks: 0,
          callerMessages: 0,
        })
        now.value = 4000 + 3001
        deepStrictEqual(await cleanupA2ATasks(store, { olderThanMs: 4001, idempotencyWindowMs: 1, clock }), {
          tasks: 1,
          callerMessages: 1,
        })
      },
    },
    {
      name: 'pages open tasks in order of their last change, then id, after a given task',
      run: async () => {
        const store = await open()
        for (const [id, at] of [
          ['b', 1000],
          ['a', 1000],
          ['c', 900],
          ['d', 1100],
        ] as const) {
          await store.insertTask(task(id, { createdAt: at, updatedAt: at }), [])
        }
        await store.insertTask(task('done', { state: 'completed', createdAt: 800, updatedAt: 800 }), [])
        const page = async (after?: { updatedAt: number; id: string }) =>
          (await store.openTasks(2, after)).map((t) => t.id)
        deepStrictEqual(await page(), ['c', 'a'])
        deepStrictEqual(await page({ updatedAt: 1000, id: 'a' }), ['b', 'd'])
        deepStrictEqual(await page({ updatedAt: 1100, id: 'd' }), [])
      },
    },
    {
      name: 'queues a push per event and config, in order, claimed once',
      run: async () => {
        const store = await open()
        const push = { taskId: 't2', id: 'c1', config: { url: 'https://hook.test' } }
        await store.insertTask(task('t2'), [{ n: 1 }], push)
        await store.transition({
          taskId: 't2',
          from: 'submitted',
          state: 'working',
          task: {},
          events: [{ n: 2 }],
          at: 1500,
        })
        const due = await store.duePushes(2000, 10)
        // Only the first: the second waits until the first is delivered or given up.
        deepStrictEqual(
          due.map((d) => [d.seq, d.event.n, d.config.url]),
          [[1, 1, 'https://hook.test']],
        )
        const first = due[0]!
        strictEqual(await store.claimPush(first.id, first.nextAt, 9000), true)
        strictEqual(await store.claimPush(first.id, first.nextAt, 9000), false)
        await store.recordPush({ id: first.id, attempts: 1, done: true, nextAt: 2000, at: 2000 })
        deepStrictEqual(
          (await store.duePushes(2000, 10)).map((d) => d.seq),
          [2],
        )
        deepStrictEqual(
          (await store.pushConfigs('t2')).map((c) => c.id),
          ['c1'],
        )
        strictEqual(await store.deletePushConfig('t2', 'c1'), true)
        deepStrictEqual(await store.duePushes(2000, 10), [])
        ok((await store.pushConfigs('t2')).length === 0)
      },
    },
    {
      name: 'keeps at most the limit of push configs per task, replacing one at the limit',
      run: async () => {
        const store = await open()
        await store.insertTask(task('t3'), [{ n: 1 }])
        await store.insertTask(task('t4'), [{ n: 1 }])
        const config = (taskId: string, id: string, url = 'https://hook.test') => ({
          taskId,
          id,
          config: { url },
        })
        strictEqual(await store.savePushConfig(config('t3', 'a'), 1000, 2), true)
        strictEqual(await store.savePushConfig(config('t3', 'b'), 1001, 2), true)
        strictEqual(await store.savePushConfig(config('t3', 'c'), 1002, 2), false)
        strictEqual(await store.savePushConfig(config('t3', 'b', 'https://other.test'), 1003, 2), true)
        // Another task has its own room.
        strictEqual(await store.savePushConfig(config('t4', 'c'), 1004, 2), true)
        deepStrictEqual(
          (await store.pushConfigs('t3')).map((c) => [c.id, c.config.url]),
          [
            ['a', 'https://hook.test'],
            ['b', 'https://other.test'],
          ],
        )
      },
    },
    {
      name: 'keeps one current signing key, replaced by compare-and-set, the old one retired with its grace',
      run: async () => {
        const store = await open()
        deepStrictEqual(await store.signingKeys(), [])
        strictEqual(await store.replaceSigningKey(signingKey('k1', 100), undefined, 0), true)
        // A second replica starting at the same time expected no key either: it loses.
        strictEqual(await store.replaceSigningKey(signingKey('k1b', 101), undefined, 0), false)
        deepStrictEqual(await store.signingKeys(), [signingKey('k1', 100)])
        strictEqual(await store.replaceSigningKey(signingKey('k2', 200), 'k1b', 900), false)
        strictEqual(await store.replaceSigningKey(signingKey('k2', 200), 'k1', 900), true)
        deepStrictEqual(await store.signingKeys(), [
          signingKey('k2', 200),
          { ...signingKey('k1', 100), retiredAt: 200, expiresAt: 900 },
        ])
        // A rotation after k1's grace removes it.
        strictEqual(await store.replaceSigningKey(signingKey('k3', 1000), 'k2', 2000), true)
        deepStrictEqual(
          (await store.signingKeys()).map((k) => [k.kid, k.retiredAt ?? null]),
          [
            ['k3', null],
            ['k2', 1000],
          ],
        )
      },
    },
  ]
}
