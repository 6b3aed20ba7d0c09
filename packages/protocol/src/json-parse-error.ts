/**
 * The line and column V8's `JSON.parse` names in its error message, if it names one (it does not always).
 * The only part of that message safe to repeat: its other forms quote the text around the damage
 * (`Unexpected token 's', ..."TOKEN": sk-…"... is not valid JSON`), which in a secret store or an assistant's
 * config file is part of a secret.
 */
export function jsonParseErrorPosition(error: unknown): { line: number; column: number } | undefined {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(error instanceof Error ? error.message : '')
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
  return undefined
}
