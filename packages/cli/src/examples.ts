/** What oclif writes in front of an example: the program's name and the command's, e.g. `agent-comm send`. */
const COMMAND = '<%= config.bin %> <%= command.id %>'

/**
 * A command's `examples`, each written once as what follows `agent-comm <command>` (`''` for the command
 * alone). A line that names the command itself (a pipeline, `id=$(…)`, another command first) is taken as
 * written.
 */
export function examples(...lines: string[]): string[] {
  return lines.map((line) => {
    if (line.includes('<%=')) return line
    return line === '' ? COMMAND : `${COMMAND} ${line}`
  })
}
