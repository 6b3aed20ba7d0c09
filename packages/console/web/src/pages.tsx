import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import {
  api,
  type DecisionResult,
  type Message,
  type MessageDelivery,
  type PendingApproval,
  type Profile,
  type Session,
} from './api.js'
import { visible, visibleJson } from './text.js'

/** Loads `load()` now and whenever a dependency (the live tick) changes. */
function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: string; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState('')
  const [count, setCount] = useState(0)
  useEffect(() => {
    let live = true
    load().then(
      (value) => {
        if (live) {
          setData(value)
          setError('')
        }
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    )
    return () => {
      live = false
    }
  }, [...deps, count])
  return { data, error, reload: () => setCount((c) => c + 1) }
}

/**
 * The first `pages` pages of a paged list (`next` is the cursor of the page after), or every page when
 * `pages` is Infinity; `more` tells whether a further page exists.
 */
async function loadPages<T>(
  path: string,
  key: string,
  pages: number,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = []
  let cursor: string | undefined
  for (let page = 0; page < pages; page++) {
    const sep = path.includes('?') ? '&' : '?'
    const data = await api<Record<string, unknown> & { next?: string }>(
      'GET',
      cursor === undefined ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`,
    )
    items.push(...((data[key] as T[] | undefined) ?? []))
    cursor = data.next
    if (cursor === undefined) return { items, more: false }
  }
  return { items, more: true }
}

function when(iso: string | undefined): string {
  if (iso === undefined) return '—'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

function Problem(props: { text: string }) {
  return props.text === '' ? null : (
    <p role="alert" class="error">
      {props.text}
    </p>
  )
}

/** A message body: always text (a body is hostile input), never HTML, never a link, no reordering. */
function Body(props: { text: string }) {
  return <pre class="body">{visible(props.text)}</pre>
}

function MessageCard(props: { message: Message; children?: ComponentChildren }) {
  const m = props.message
  return (
    <article class="message" data-message-id={m.id}>
      <div class="meta">
        <span class={`priority ${m.priority}`}>{m.priority}</span> <strong>{m.fromAgent}</strong> →{' '}
        {m.toAgent} <time>{when(m.timestamp)}</time>
      </div>
      <h3>{m.subject === '' ? '(no subject)' : visible(m.subject)}</h3>
      <Body text={m.body} />
      {props.children}
    </article>
  )
}

/** Runs an action, reporting its failure; returns whether it worked. */
function useAction(): [string, (fn: () => Promise<unknown>) => Promise<boolean>] {
  const [error, setError] = useState('')
  const run = async (fn: () => Promise<unknown>) => {
    try {
      await fn()
      setError('')
      return true
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
      return false
    }
  }
  return [error, run]
}

function Compose(props: { replyTo?: string; onSent: () => void }) {
  const [to, setTo] = useState('')
  const [subject, setSubject] = useState('')
  const [body, setBody] = useState('')
  const [error, run] = useAction()
  const submit = async (event: Event) => {
    event.preventDefault()
    const ok = await run(() =>
      api('POST', '/console/messages', {
        body,
        ...(props.replyTo === undefined ? { to, subject } : { replyTo: props.replyTo }),
      }),
    )
    if (ok) {
      setBody('')
      setSubject('')
      props.onSent()
    }
  }
  return (
    <form
      class="compose"
      onSubmit={submit}
      aria-label={props.replyTo === undefined ? 'New message' : 'Reply'}
    >
      {props.replyTo === undefined ? (
        <>
          <label>
            To (agent id or capability:name)
            <input name="to" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
          </label>
          <label>
            Subject
            <input name="subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
          </label>
        </>
      ) : null}
      <label>
        {props.replyTo === undefined ? 'Message' : 'Reply'}
        <textarea
          name="body"
          rows={3}
          value={body}
          onInput={(e) => setBody(e.currentTarget.value)}
          required
        />
      </label>
      <button type="submit">{props.replyTo === undefined ? 'Send' : 'Send reply'}</button>
      <Problem text={error} />
    </form>
  )
}

export function Inbox(props: { session: Session; tick: number }) {
  const { data, error, reload } = useLoad(
    () => api<{ items: MessageDelivery[]; more?: boolean }>('GET', '/console/inbox'),
    [props.tick],
  )
  const [opened, setOpened] = useState<string | undefined>(undefined)
  const [actionError, run] = useAction()
  const open = async (id: string) => {
    if (await run(() => api('POST', `/console/inbox/${encodeURIComponent(id)}/open`))) setOpened(id)
    reload()
  }
  const done = async (id: string) => {
    if (await run(() => api('POST', `/console/inbox/${encodeURIComponent(id)}/done`))) setOpened(undefined)
    reload()
  }
  return (
    <section aria-labelledby="inbox-title">
      <h2 id="inbox-title">Inbox</h2>
      <Problem text={error || actionError} />
      {data?.items.length === 0 ? <p class="muted">Nothing waiting for {props.session.agentId}.</p> : null}
      {data?.more === true ? (
        <p class="notice" role="status">
          Showing the {data.items.length} most urgent and newest messages; older ones are waiting too. Mark
          some Done to see them.
        </p>
      ) : null}
      <ul class="list" aria-label="Messages">
        {data?.items.map(({ message, delivery }) => (
          <li key={message.id} class={delivery.status === 'leased' ? 'opened' : ''}>
            <MessageCard message={message}>
              <div class="actions">
                {opened === message.id || delivery.status === 'leased' ? (
                  <button type="button" onClick={() => done(message.id)}>
                    Done
                  </button>
                ) : (
                  <button type="button" onClick={() => open(message.id)}>
                    Open
                  </button>
                )}
              </div>
              {opened === message.id ? <Compose replyTo={message.id} onSent={reload} /> : null}
            </MessageCard>
          </li>
        ))}
      </ul>
      <h2>New message</h2>
      <Compose onSent={reload} />
    </section>
  )
}

function Thread(props: { conversationId: string | undefined }) {
  const { data } = useLoad(
    () =>
      props.conversationId === undefined
        ? Promise.resolve({ messages: [] as Message[] })
        : api<{ messages: Message[] }>('GET', `/conversations/${encodeURIComponent(props.conversationId)}`),
    [props.conversationId],
  )
  return (
    <ol class="thread" aria-label="Thread">
      {data?.messages.map((m) => (
        <li key={m.id}>
          <MessageCard message={m} />
        </li>
      ))}
    </ol>
  )
}

/** The label of a decision's button: Approve, Deny, or the offered option as is (shown visibly). */
function optionLabel(option: string): string {
  return option === 'approve' ? 'Approve' : option === 'deny' ? 'Deny' : visible(option)
}

/** What a decision that came too late tells its maker: the decision that counts, by whom and when. */
export interface LateDecision {
  requestId: string
  question: string
  mine: string
  result: DecisionResult
}

function ApprovalCard(props: { item: PendingApproval; onDecided: (late?: LateDecision) => void }) {
  const { item } = props
  const [comment, setComment] = useState('')
  const initial = item.request.action?.arguments
  const [args, setArgs] = useState(initial === undefined ? '' : visibleJson(initial))
  const [showThread, setShowThread] = useState(false)
  const [error, run] = useAction()
  const decide = async (decision: string) => {
    let edited: Record<string, unknown> | undefined
    if (args.trim() !== '' && decision !== 'deny') {
      try {
        edited = JSON.parse(args) as Record<string, unknown>
      } catch {
        await run(() => Promise.reject(new Error('The arguments are not valid JSON')))
        return
      }
      if (JSON.stringify(edited) === JSON.stringify(initial)) edited = undefined
    }
    let result: DecisionResult | undefined
    const ok = await run(async () => {
      result = await api<DecisionResult>(
        'POST',
        `/console/approvals/${encodeURIComponent(item.message.id)}/decision`,
        {
          decision,
          // A JSON body: an undefined field is left out of it.
          comment: comment.trim() === '' ? undefined : comment,
          arguments: edited,
        },
      )
    })
    if (!ok) return
    // Someone else (or the deadline) decided first: this click changed nothing, and the person must know.
    props.onDecided(
      result?.first === false
        ? { requestId: item.requestId, question: item.request.question, mine: decision, result }
        : undefined,
    )
  }
  const policy = item.request.onExpiry
  return (
    <article class="approval" data-request-id={item.requestId}>
      <div class="meta">
        <strong>{item.message.fromAgent}</strong> asks · <time>{when(item.message.timestamp)}</time>
        {item.request.deadline === undefined ? null : (
          <span class="deadline">
            {' '}
            · deadline {when(item.request.deadline)} (then{' '}
            {typeof policy === 'string' ? policy : `escalate to ${policy.escalateTo}`})
          </span>
        )}
      </div>
      <h3 class="question">{visible(item.request.question)}</h3>
      {item.request.action === undefined ? null : (
        <label>
          Action <code>{visible(item.request.action.name)}</code> — arguments (JSON, editable)
          <textarea name="arguments" rows={4} value={args} onInput={(e) => setArgs(e.currentTarget.value)} />
        </label>
      )}
      {item.request.context === undefined ? null : (
        <div class="context">
          <span class="muted">Context from {item.message.fromAgent}</span>
          <pre class="body" data-testid="approval-context">
            {typeof item.request.context === 'string'
              ? visible(item.request.context)
              : visibleJson(item.request.context)}
          </pre>
        </div>
      )}
      <label>
        Comment (sent back to the agent)
        <textarea
          name="comment"
          rows={2}
          value={comment}
          onInput={(e) => setComment(e.currentTarget.value)}
        />
      </label>
      <div class="actions">
        {item.request.options.map((option) => (
          <button type="button" class={option === 'deny' ? 'danger' : ''} onClick={() => decide(option)}>
            {optionLabel(option)}
          </button>
        ))}
        <button
          type="button"
          class="link"
          onClick={() => setShowThread(!showThread)}
          aria-expanded={showThread}
        >
          {showThread ? 'Hide thread' : 'Show thread'}
        </button>
      </div>
      <Problem text={error} />
      {showThread ? <Thread conversationId={item.message.routing.conversationId} /> : null}
    </article>
  )
}

interface AuditEntry {
  requestId: string
  requester: string
  question: string
  decision: string
  comment?: string
  decidedBy: string
  decidedAt: string
  expired: boolean
}

export function Approvals(props: { session: Session; tick: number }) {
  const [approvalPages, setApprovalPages] = useState(1)
  const [auditPages, setAuditPages] = useState(1)
  const { data, error, reload } = useLoad(
    () => loadPages<PendingApproval>('/console/approvals?limit=50', 'approvals', approvalPages),
    [props.tick, approvalPages],
  )
  const audit = useLoad(
    () => loadPages<AuditEntry>('/console/approvals/audit?limit=100', 'entries', auditPages),
    [props.tick, auditPages],
  )
  const [exportError, setExportError] = useState('')
  const [late, setLate] = useState<LateDecision[]>([])
  // The whole log, page by page, from the audit table (it outlives the messages).
  const exportJson = async () => {
    try {
      const all = await loadPages<AuditEntry>('/console/approvals/audit?limit=200', 'entries', Infinity)
      const blob = new Blob([JSON.stringify(all.items, null, 2)], { type: 'application/json' })
      const link = document.createElement('a')
      link.href = URL.createObjectURL(blob)
      link.download = 'approval-audit.json'
      link.click()
      URL.revokeObjectURL(link.href)
      setExportError('')
    } catch (e) {
      setExportError(e instanceof Error ? e.message : String(e))
    }
  }
  return (
    <section aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      <Problem text={error} />
      {late.map((l) => (
        <div class="notice" role="alert" data-testid="late-decision" key={l.requestId}>
          <p>
            Already decided: <strong>{visible(l.result.response.decision)}</strong> by{' '}
            {l.result.response.decidedBy}
            {l.result.response.expired === true ? ' (deadline passed)' : ''} at{' '}
            {when(l.result.response.decidedAt)}; your {optionLabel(l.mine)} was not applied.
          </p>
          <p class="muted">{visible(l.question)}</p>
          <button
            type="button"
            class="link"
            onClick={() => setLate((all) => all.filter((x) => x.requestId !== l.requestId))}
          >
            Dismiss
          </button>
        </div>
      ))}
      {data?.items.length === 0 ? <p class="muted">No request is waiting for a decision.</p> : null}
      <ul class="list" aria-label="Waiting approvals">
        {data?.items.map((item) => (
          <li key={item.message.id}>
            <ApprovalCard
              item={item}
              onDecided={(lateDecision) => {
                if (lateDecision !== undefined)
                  setLate((all) => [
                    lateDecision,
                    ...all.filter((x) => x.requestId !== lateDecision.requestId),
                  ])
                reload()
                audit.reload()
              }}
            />
          </li>
        ))}
      </ul>
      {data?.more === true ? (
        <button type="button" onClick={() => setApprovalPages((n) => n + 1)}>
          More requests
        </button>
      ) : null}
      <h2>
        Audit log{' '}
        <button type="button" class="link" onClick={() => void exportJson()}>
          Export JSON
        </button>
      </h2>
      <Problem text={audit.error || exportError} />
      <div class="scroll">
        <table aria-label="Audit log">
          <thead>
            <tr>
              <th>Decided</th>
              <th>By</th>
              <th>Decision</th>
              <th>Requester</th>
              <th>Question</th>
              <th>Comment</th>
            </tr>
          </thead>
          <tbody>
            {audit.data?.items.map((e) => (
              <tr key={e.requestId}>
                <td>{when(e.decidedAt)}</td>
                <td>{e.decidedBy}</td>
                <td>
                  {visible(e.decision)}
                  {e.expired ? ' (expired)' : ''}
                </td>
                <td>{e.requester}</td>
                <td>{visible(e.question)}</td>
                <td>{visible(e.comment ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {audit.data?.more === true ? (
        <button type="button" onClick={() => setAuditPages((n) => n + 1)}>
          More entries
        </button>
      ) : null}
    </section>
  )
}

interface Stats {
  totalMessages: number
  deliveries: Record<string, number>
  oldestQueuedAgeMs: number | null
  oldestLeaseAgeMs: number | null
  failedRate: number
  agents: Record<string, { queued: number; leased: number; failed: number }>
}

export function Agents(props: { session: Session; tick: number }) {
  const { data, error } = useLoad(() => api<{ agents: Profile[] }>('GET', '/agents'), [props.tick])
  const stats = useLoad(
    () => (props.session.admin ? api<Stats>('GET', '/admin/stats') : Promise.resolve(undefined)),
    [props.tick],
  )
  return (
    <section aria-labelledby="agents-title">
      <h2 id="agents-title">Agents</h2>
      <Problem text={error} />
      <div class="scroll">
        <table aria-label="Agents">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Presence</th>
              <th>Capabilities</th>
              <th>Transport</th>
              <th>Last seen</th>
              {props.session.admin ? <th>Queued / leased / failed</th> : null}
            </tr>
          </thead>
          <tbody>
            {data?.agents.map((a) => {
              const depth = stats.data?.agents[a.agentId]
              return (
                <tr key={a.agentId}>
                  <td>{a.agentId}</td>
                  <td>
                    <span class={`presence ${a.status}`}>{a.status}</span>
                  </td>
                  <td>{a.capabilities.join(', ')}</td>
                  <td>{a.transport}</td>
                  <td>{when(a.lastSeen)}</td>
                  {props.session.admin ? (
                    <td>
                      {depth === undefined
                        ? '0 / 0 / 0'
                        : `${depth.queued} / ${depth.leased} / ${depth.failed}`}
                    </td>
                  ) : null}
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </section>
  )
}

interface Conversation {
  conversationId: string
  subject: string
  participants: string[]
  messageCount: number
  lastMessageAt?: string
}

export function Threads(props: { tick: number }) {
  const list = useLoad(
    () => api<{ conversations: Conversation[] }>('GET', '/conversations?limit=100'),
    [props.tick],
  )
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const [text, setText] = useState('')
  const [results, setResults] = useState<Message[] | undefined>(undefined)
  const [error, run] = useAction()
  const search = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      const found = await api<{ messages: Message[] }>(
        'GET',
        `/console/search?text=${encodeURIComponent(text)}`,
      )
      setResults(found.messages)
    })
  }
  return (
    <section aria-labelledby="threads-title">
      <h2 id="threads-title">Threads</h2>
      <search>
        <form class="search" onSubmit={search}>
          <label>
            Search messages
            <input name="q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </label>
          <button type="submit">Search</button>
        </form>
      </search>
      <Problem text={list.error || error} />
      {results === undefined ? null : (
        <>
          <h3>{results.length} result(s)</h3>
          <ul class="list" aria-label="Search results">
            {results.map((m) => (
              <li key={m.id}>
                <MessageCard message={m} />
              </li>
            ))}
          </ul>
        </>
      )}
      <div class="split">
        <ul class="threads" aria-label="Conversations">
          {list.data?.conversations.map((c) => (
            <li key={c.conversationId}>
              <button
                type="button"
                class="link"
                aria-current={selected === c.conversationId ? 'true' : undefined}
                onClick={() => setSelected(c.conversationId)}
              >
                {c.subject === '' ? c.conversationId : visible(c.subject)}
              </button>
              <span class="muted">
                {' '}
                {c.participants.join(', ')} · {c.messageCount}
              </span>
            </li>
          ))}
        </ul>
        {selected === undefined ? null : <Thread conversationId={selected} />}
      </div>
    </section>
  )
}

export function DeadLetters(props: { tick: number }) {
  const { data, error, reload } = useLoad(
    () => api<{ failed: MessageDelivery[] }>('GET', '/admin/failed?limit=200'),
    [props.tick],
  )
  const [chosen, setChosen] = useState<Set<string>>(new Set())
  const [actionError, run] = useAction()
  const key = (d: MessageDelivery) => `${d.message.id}|${d.delivery.recipient}`
  const retry = async (items: MessageDelivery[]) => {
    await run(async () => {
      for (const d of items) {
        await api('POST', `/admin/failed/${encodeURIComponent(d.message.id)}/retry`, {
          agent: d.delivery.recipient,
        })
      }
    })
    setChosen(new Set())
    reload()
  }
  const toggle = (k: string) => {
    const next = new Set(chosen)
    if (next.has(k)) next.delete(k)
    else next.add(k)
    setChosen(next)
  }
  return (
    <section aria-labelledby="dead-title">
      <h2 id="dead-title">Dead letters</h2>
      <Problem text={error || actionError} />
      <div class="actions">
        <button
          type="button"
          disabled={chosen.size === 0}
          onClick={() => retry((data?.failed ?? []).filter((d) => chosen.has(key(d))))}
        >
          Retry selected ({chosen.size})
        </button>
      </div>
      {data?.failed.length === 0 ? <p class="muted">No failed deliveries.</p> : null}
      <ul class="list" aria-label="Failed deliveries">
        {data?.failed.map((d) => (
          <li key={key(d)}>
            <MessageCard message={d.message}>
              <p class="error-text">
                To {d.delivery.recipient}:{' '}
                <span class="last-error">{visible(String(d.delivery.lastError ?? 'no error recorded'))}</span>
              </p>
              <div class="actions">
                <label class="inline">
                  <input type="checkbox" checked={chosen.has(key(d))} onChange={() => toggle(key(d))} />{' '}
                  select
                </label>
                <button type="button" onClick={() => retry([d])}>
                  Retry
                </button>
              </div>
            </MessageCard>
          </li>
        ))}
      </ul>
    </section>
  )
}

function Bars(props: {
  label: string
  values: { name: string; value: number; alert?: boolean }[]
  /** Label every bar (true) or only the first and last (false). */
  everyName?: boolean
}) {
  const max = Math.max(1, ...props.values.map((v) => v.value))
  const width = 40
  const last = props.values.length - 1
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${props.values.length * width} 130`} role="img" aria-label={props.label}>
        {props.values.map((v, i) => {
          const h = Math.round((v.value / max) * 80)
          const named = props.everyName === true || i === 0 || i === last
          return (
            <g key={v.name}>
              <title>{`${v.name}: ${v.value}`}</title>
              <rect
                class={v.alert === true ? 'bar alert' : 'bar'}
                x={i * width + 6}
                y={100 - h}
                width={width - 12}
                height={Math.max(h, 1)}
              />
              <text class="value" x={i * width + width / 2} y={95 - h} text-anchor="middle">
                {v.value}
              </text>
              {named ? (
                <text class="name" x={i * width + width / 2} y={118} text-anchor="middle">
                  {v.name}
                </text>
              ) : null}
            </g>
          )
        })}
      </svg>
      <figcaption>{props.label}</figcaption>
    </figure>
  )
}

interface OverviewData {
  stats: Stats
  throughput: { start: string; messages: number }[]
  thresholds: Record<string, number>
}

export function Overview(props: { tick: number }) {
  const { data, error } = useLoad(() => api<OverviewData>('GET', '/console/overview'), [props.tick])
  if (data === undefined) return <Problem text={error} />
  const { stats, thresholds } = data
  const queued = stats.deliveries.queued ?? 0
  const cards = [
    { name: 'Queued', value: String(queued), alert: queued > (thresholds.queued ?? Infinity) },
    { name: 'Leased', value: String(stats.deliveries.leased ?? 0), alert: false },
    {
      name: 'Oldest queued',
      value: ago(stats.oldestQueuedAgeMs),
      alert: (stats.oldestQueuedAgeMs ?? 0) > (thresholds.oldestQueuedAgeMs ?? Infinity),
    },
    {
      name: 'Oldest lease',
      value: ago(stats.oldestLeaseAgeMs),
      alert: (stats.oldestLeaseAgeMs ?? 0) > (thresholds.oldestLeaseAgeMs ?? Infinity),
    },
    {
      name: 'Failure rate',
      value: `${(stats.failedRate * 100).toFixed(1)} %`,
      alert: stats.failedRate > (thresholds.failedRate ?? Infinity),
    },
    { name: 'Messages', value: String(stats.totalMessages), alert: false },
  ]
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <div class="cards">
        {cards.map((c) => (
          <div class={c.alert ? 'card alert' : 'card'} data-metric={c.name}>
            <span class="muted">{c.name}</span>
            <strong>{c.value}</strong>
            {c.alert ? <span class="badge">over threshold</span> : null}
          </div>
        ))}
      </div>
      <div class="charts">
        <Bars
          label="Deliveries by status"
          everyName
          values={Object.entries(stats.deliveries).map(([name, value]) => ({
            name,
            value,
            alert: name === 'failed' && value > 0,
          }))}
        />
        <Bars
          label="Messages sent per 5 minutes, last hour"
          values={data.throughput.map((t) => ({
            name: new Date(t.start).toLocaleTimeString(),
            value: t.messages,
          }))}
        />
      </div>
    </section>
  )
}
