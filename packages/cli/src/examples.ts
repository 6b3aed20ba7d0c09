/** What oclif writes in front of an example: the program's name and the command's, e.g. `agent-comm send`. */
const COMMAND = '<%= config.bin %> <%= command.id %>'

/**
 * A command's `examples`, each written once as what follows `agent-comm <command>`: a few short ones as
 * arguments (`examples('', '--json')`, `''` for the command alone), a longer list as a block of lines, one
 * example a line, written as it is typed in a shell (nothing to escape, no quotes around it):
 *
 *     static override examples = examples`
 *       builder --limit 5
 *       builder --follow --json | jq -c '.message.subject'
 *     `
 *
 * A line that names the command itself (a pipeline, `id=$(…)`, another command first, or the command alone
 * in a block: `<%= config.bin %> <%= command.id %>`) is taken as written.
 */
export function examples(block: TemplateStringsArray, ...values: (string | number)[]): string[]
export function examples(...lines: string[]): string[]
export function examples(first: TemplateStringsArray | string, ...more: (string | number)[]): string[] {
  const lines =
    typeof first === 'string'
      ? [first, ...more.map(String)]
      : String.raw(first, ...more)
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '')
  return lines.map((line) => {
    if (line.includes('<%=')) return line
    return line === '' ? COMMAND : `${COMMAND} ${line}`
  })
}
