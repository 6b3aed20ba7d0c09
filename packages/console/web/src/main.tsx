import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import {
  ApiError,
  api,
  forgetPageKey,
  listenForChanges,
  onSessionEnded,
  type Session,
  useCsrf,
  usePageKey,
} from './api.js'
import { Agents, Approvals, DeadLetters, Inbox, Overview, Threads } from './pages.js'
import './style.css'

const PAGES = [
  { id: 'inbox', title: 'Inbox', key: 'i', operatorOnly: false },
  { id: 'approvals', title: 'Approvals', key: 'a', operatorOnly: false },
  { id: 'threads', title: 'Threads', key: 't', operatorOnly: false },
  { id: 'agents', title: 'Agents', key: 'g', operatorOnly: false },
  { id: 'dead-letters', title: 'Dead letters', key: 'd', operatorOnly: true },
  { id: 'overview', title: 'Overview', key: 'o', operatorOnly: true },
] as const

type PageId = (typeof PAGES)[number]['id']

function currentPage(): PageId {
  const id = location.hash.replace(/^#\/?/, '').split('?')[0]
  return (PAGES.find((p) => p.id === id)?.id ?? 'inbox') as PageId
}

/** Counts server-sent `change` events: pages refetch when it moves. */
function useLiveTick(session: Session | undefined): number {
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (session === undefined) return undefined
    const stop = new AbortController()
    void listenForChanges(() => setTick((t) => t + 1), stop.signal)
    return () => stop.abort()
  }, [session])
  return tick
}

/** A labelled, required input of the sign-in form (`secret`: a password field). */
function Field(props: {
  label: string
  name: string
  secret?: boolean
  autoComplete: string
  value: string
  onValue: (value: string) => void
}) {
  const input = {
    name: props.name,
    autoComplete: props.autoComplete,
    value: props.value,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.onValue(e.currentTarget.value),
    required: true,
  }
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the input is inside the label, in either branch
    <label>
      {props.label}
      {props.secret ? <input type="password" {...input} /> : <input {...input} />}
    </label>
  )
}

function SignIn(props: { onSignedIn: (s: Session) => void; problem: string }) {
  const [agentId, setAgentId] = useState('')
  const [secret, setSecret] = useState('')
  const [error, setError] = useState(props.problem)
  const submit = async (event: Event) => {
    event.preventDefault()
    try {
      props.onSignedIn(await api<Session>('POST', '/console/session', { agentId, secret }))
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    }
  }
  return (
    <main class="signin">
      <h1>agent-comm console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <Field label="Agent id" name="agentId" autoComplete="username" value={agentId} onValue={setAgentId} />
        <Field
          label="Relay secret"
          name="secret"
          secret
          autoComplete="current-password"
          value={secret}
          onValue={setSecret}
        />
        <button type="submit">Sign in</button>
        {error === '' ? null : (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <p class="muted">
        Sign in as a human agent (metadata kind "human" or capability human-review) or the relay's admin. A
        local console opens with a one-time link.
      </p>
    </main>
  )
}

function App() {
  const [session, setSession] = useState<Session | undefined>(undefined)
  const [checked, setChecked] = useState(false)
  const [problem, setProblem] = useState('')
  const [page, setPage] = useState<PageId>(currentPage())
  const tick = useLiveTick(session)

  const [signOutError, setSignOutError] = useState('')

  const signedIn = (s: Session) => {
    useCsrf(s.csrfToken)
    // Only signing in hands out the page key; checking the session keeps the one stored.
    if (s.pageKey !== undefined) usePageKey(s.pageKey)
    setProblem('')
    setSignOutError('')
    setSession(s)
  }

  useEffect(() => {
    // Any 401 of a signed-in page: the session expired or was ended elsewhere (another tab, a replica).
    onSessionEnded(() => {
      forgetPageKey()
      setProblem('Your session ended, sign in again.')
      setSession(undefined)
    })
    return () => onSessionEnded(undefined)
  }, [])

  useEffect(() => {
    const token = /token=([^&]+)/.exec(location.hash)?.[1]
    const start = async () => {
      try {
        if (token !== undefined) {
          history.replaceState(null, '', `${location.pathname}#/inbox`)
          signedIn(await api<Session>('POST', '/console/session', { token: decodeURIComponent(token) }))
        } else {
          signedIn(await api<Session>('GET', '/console/session'))
        }
      } catch (e) {
        if (token !== undefined) setProblem(e instanceof ApiError ? e.message : String(e))
      } finally {
        setChecked(true)
      }
    }
    void start()
    const onHash = () => setPage(currentPage())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])

  useEffect(() => {
    // Keyboard: g then a page's key jumps to it (g i: inbox, g a: approvals …).
    let pending = false
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement
      if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || event.metaKey || event.ctrlKey) return
      if (pending) {
        pending = false
        const found = PAGES.find((p) => p.key === event.key)
        if (found !== undefined) location.hash = `#/${found.id}`
      } else if (event.key === 'g') pending = true
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [])

  if (!checked) return <p class="muted">Loading…</p>
  if (session === undefined) return <SignIn onSignedIn={signedIn} problem={problem} />

  const signOut = async () => {
    try {
      await api('DELETE', '/console/session')
    } catch (e) {
      // 401: the session had ended already (another tab, expiry) — signed out all the same.
      if (!(e instanceof ApiError && e.status === 401)) {
        setSignOutError(`Could not sign out: ${e instanceof Error ? e.message : String(e)}`)
        return
      }
    }
    forgetPageKey()
    setProblem('')
    setSession(undefined)
  }
  const visible = PAGES.filter((p) => session.admin || !p.operatorOnly)
  return (
    <>
      <header>
        <strong class="brand">agent-comm</strong>
        <nav aria-label="Pages">
          {visible.map((p) => (
            <a href={`#/${p.id}`} aria-current={page === p.id ? 'page' : undefined} title={`g ${p.key}`}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class="who">
          <span data-testid="who">{session.agentId}</span>
          {session.admin ? ' (operator)' : ''}{' '}
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
        {signOutError === '' ? null : (
          <p role="alert" class="error">
            {signOutError}
          </p>
        )}
      </header>
      <main>
        {page === 'inbox' ? <Inbox session={session} tick={tick} /> : null}
        {page === 'approvals' ? <Approvals session={session} tick={tick} /> : null}
        {page === 'threads' ? <Threads tick={tick} /> : null}
        {page === 'agents' ? <Agents session={session} tick={tick} /> : null}
        {page === 'dead-letters' && session.admin ? <DeadLetters tick={tick} /> : null}
        {page === 'overview' && session.admin ? <Overview tick={tick} /> : null}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
