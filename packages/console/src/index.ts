export type { ConsolePluginOptions } from './plugin.js'
export { CONSOLE_ASSETS_DIR, CONSOLE_CSP, consolePlugin } from './plugin.js'
