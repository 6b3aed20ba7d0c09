import { describe, expect, it } from 'vitest'
import { examples } from '../src/examples.js'

describe('examples()', () => {
  it('reads a block as one example a line, as typed in a shell, the same as the lines given one by one', () => {
    const port = 8422
    const block = examples`
      builder --limit 5
      "$id" --json | jq -r '.deliveries[].status'   # a comment stays
      --http --port ${port}
      id=$(<%= config.bin %> <%= command.id %> a b hi)
      <%= config.bin %> <%= command.id %>
    `
    expect(block).toEqual(
      examples(
        'builder --limit 5',
        '"$id" --json | jq -r \'.deliveries[].status\'   # a comment stays',
        '--http --port 8422',
        'id=$(<%= config.bin %> <%= command.id %> a b hi)',
        '',
      ),
    )
    expect(block[0]).toBe('<%= config.bin %> <%= command.id %> builder --limit 5')
    expect(block[4]).toBe('<%= config.bin %> <%= command.id %>')
  })

  it('keeps a backslash of a block as written (no JavaScript escapes)', () => {
    expect(examples`
      a "b\\n"
    `).toEqual(['<%= config.bin %> <%= command.id %> a "b\\\\n"'])
  })
})
