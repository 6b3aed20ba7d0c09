// Finds the fenced code blocks of a README and what the README says about running each.
//
// A block runs unless the line right above its fence (blank lines aside) is a marker:
//   <!-- example: not run — <why, and where the same steps do run> -->
//       (the reason must name that place, a path such as packages/cli/test/poll.test.ts)
//   <!-- example: continues the block above -->   (a fragment: runs as the previous block of its language
//                                                   with this one appended)
//   <!-- example: runs until stopped — ready when it prints /<regex>/ -->
//       (a server or a follower: it runs in the background until a line of its output matches, then gets
//        SIGINT, as from Ctrl-C, and must exit 0)
//   <!-- example: runs while the block above runs -->
//       (a client of the server block above, or of the server of the client block above: it runs, with
//        set -e, once the server is ready, and the server is stopped after the last of its clients)
// `text` blocks show output or layouts and are never run; every block must name its language.

/** The marker comment, with what follows `example:`. */
const MARKER = /^<!--\s*example:\s*(.*?)\s*-->$/

/** Every fenced block of `markdown`: language, code, 1-based line of the opening fence, and its marker. */
export function codeBlocks(markdown) {
  const lines = markdown.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i])
    if (open === null) continue
    const fence = open[1]
    const start = i
    const body = []
    for (i++; i < lines.length && !lines[i].startsWith(fence); i++) body.push(lines[i])
    let above = start - 1
    while (above >= 0 && lines[above].trim() === '') above--
    const marker = above >= 0 ? MARKER.exec(lines[above].trim())?.[1] : undefined
    blocks.push({ lang: open[2].trim(), code: `${body.join('\n')}\n`, line: start + 1, marker })
  }
  return blocks
}

/**
 * What to do with a block: 'skip' (with its reason), 'continue' (append to the previous block of the same
 * language), 'server' (run until a line matches `ready`, then stop with SIGINT), 'client' (run while the
 * server above runs), 'text', or 'run'. Throws on a marker the checker does not know, and on a `not run`
 * reason that names no place where the steps do run, so neither a typo nor a shrug can hide a block.
 */
export function decision(block) {
  if (block.marker === undefined) return block.lang === 'text' ? { kind: 'text' } : { kind: 'run' }
  const notRun = /^not run\s*[—-]\s*(\S.*)$/.exec(block.marker)
  if (notRun !== null) {
    const reason = notRun[1]
    // A path with a folder (packages/cli/test/x.test.ts, scripts/verify-packages, .ci/run): where a reader,
    // and CI, can see the same steps run.
    if (!/(?:^|[\s(`])\.?[\w@-]+(?:\/[\w.@-]+)+/.test(reason)) {
      throw new Error(
        `the 'not run' reason '${reason}' names no place where the same steps run: add the test or script that runs them (e.g. packages/cli/test/poll.test.ts)`,
      )
    }
    return { kind: 'skip', reason }
  }
  if (block.marker === 'continues the block above') return { kind: 'continue' }
  if (block.marker === 'runs while the block above runs') return { kind: 'client' }
  const server = /^runs until stopped\s*[—-]\s*ready when it prints \/(.+)\/$/.exec(block.marker)
  if (server !== null) return { kind: 'server', ready: new RegExp(server[1], 'm') }
  throw new Error(
    `unknown example marker '${block.marker}': use 'not run — <reason, and where the steps run>', 'continues the block above', 'runs until stopped — ready when it prints /<regex>/' or 'runs while the block above runs'`,
  )
}

/**
 * Gives each server step (`action.kind === 'server'`) the `clients` that run beside it: the client blocks
 * right after it, text blocks aside. A client with no server right above it becomes `invalid`.
 */
export function attachClients(steps) {
  let server
  for (const step of steps) {
    if (step.action.kind === 'server') step.clients = []
    if (step.action.kind === 'text') continue
    if (step.action.kind === 'client') {
      if (server === undefined) {
        step.action = {
          kind: 'invalid',
          problem: 'runs while the block above runs, but the block above is no server (runs until stopped)',
        }
      } else server.clients.push(step)
      continue
    }
    server = step.action.kind === 'server' ? step : undefined
  }
  return steps
}

/** Languages the checker knows how to check. */
export const LANGUAGES = {
  ts: 'typescript',
  typescript: 'typescript',
  sh: 'shell',
  bash: 'shell',
  shell: 'shell',
  json: 'json',
  jsonc: 'jsonc',
  text: 'text',
}

/** Removes `//` comments outside strings, for jsonc blocks. */
export function stripLineComments(source) {
  let out = ''
  let inString = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (inString) {
      out += c
      if (c === '\\') out += source[++i] ?? ''
      else if (c === '"') inString = false
    } else if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++
      out += '\n'
    } else out += c
  }
  return out
}

/**
 * Parses a jsonc block as one or more JSON values one after another (a transcript of tool calls shows
 * several); throws the first syntax error.
 */
export function parseJsonValues(source) {
  const text = stripLineComments(source)
  const values = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++
    if (i >= text.length) break
    const end = valueEnd(text, i)
    values.push(JSON.parse(text.slice(i, end)))
    i = end
  }
  return values
}

/** Where the object or array starting at `start` ends (just after its closing bracket). */
function valueEnd(text, start) {
  if (text[start] !== '{' && text[start] !== '[') {
    throw new SyntaxError(
      `expected '{' or '[' at offset ${start}: ${JSON.stringify(text.slice(start, start + 20))}`,
    )
  }
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  throw new SyntaxError(`unclosed value starting at offset ${start}`)
}
