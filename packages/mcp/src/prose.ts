/**
 * A paragraph written across the lines of a template literal, as the one line a client shows: each line
 * break and the indentation around it become one space, and the break after the opening backtick and the
 * one before the closing backtick go. Interpolated values are kept as they are.
 *
 * Tool and resource descriptions are long single lines for the model; written with `prose` they wrap in
 * the source without a `'…' +` chain whose trailing spaces are easy to drop.
 */
export function prose(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  const last = strings.length - 1
  let text = ''
  strings.forEach((literal, index) => {
    let folded = literal.replaceAll(/[ \t]*\n[ \t]*/g, ' ')
    if (index === 0) folded = folded.trimStart()
    if (index === last) folded = folded.trimEnd()
    text += folded
    if (index < last) text += String(values[index])
  })
  return text
}
