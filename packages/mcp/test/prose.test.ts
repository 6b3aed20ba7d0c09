import { describe, expect, it } from 'vitest'
import { prose } from '../src/prose.js'

describe('prose', () => {
  it("gives the same line as the '…' + chain it replaced in the tool descriptions", () => {
    const chain =
      'List registered agents with their capabilities, device, transport and presence (active, inactive, ' +
      'offline). Use it to find whom to send a task to: filter by capability (e.g. "review") and status. ' +
      'Next: comm_send with to_agent set to an agent_id from the list.'
    const written = prose`
      List registered agents with their capabilities, device, transport and presence (active, inactive,
      offline). Use it to find whom to send a task to: filter by capability (e.g. "review") and status.
      Next: comm_send with to_agent set to an agent_id from the list.
    `
    expect(written).toBe(chain)
  })

  it('keeps interpolated values as they are and folds only the literal line breaks', () => {
    const limit = 50
    const hint = 'a\n  b'
    expect(prose`
      at most ${limit} rows,
      then ${hint}
    `).toBe(`at most 50 rows, then a\n  b`)
  })

  it('leaves a single-line text unchanged', () => {
    expect(prose`one line, no breaks`).toBe('one line, no breaks')
  })
})
