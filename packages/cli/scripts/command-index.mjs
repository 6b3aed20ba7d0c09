// Writes dist/command-index.json from oclif.manifest.json (run after `oclif manifest`): the topic and
// command names bin/run.js needs to move global flags after the command, and send's entry, which send's
// fast path parses its line with. bin/run.js reads this 7 KB file on every command instead of the whole
// 145 KB manifest and package.json (about 7 M instructions, 2 % of a `send`); oclif reads the manifest
// itself when it runs a command.
import { readFileSync, writeFileSync } from 'node:fs'

const read = (file) => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'))
const { oclif } = read('package.json')
const manifest = read('oclif.manifest.json')
writeFileSync(
  new URL('../dist/command-index.json', import.meta.url),
  JSON.stringify({
    topics: Object.keys(oclif.topics ?? {}),
    commands: Object.keys(manifest.commands),
    send: manifest.commands.send,
  }),
)
