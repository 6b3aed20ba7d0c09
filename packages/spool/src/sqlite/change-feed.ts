import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'

/** Delays of the re-checks after a file event (see `watchDatabaseFile`). */
const FOLLOW_UP_DELAYS_MS = [1, 4, 15, 50]

/**
 * The SQLite store's change feed: calls `onChange` when another connection may have committed to the file
 * at `path`. Commits from other processes write the WAL file, which is watched through the folder (inotify
 * on Linux, so a checkpoint that truncates or recreates the file is still seen); each event is confirmed
 * with `dataVersion` (`PRAGMA data_version`, which changes only when another connection committed). A file
 * event can arrive while the writer is still between writing its WAL frames and publishing the commit, when
 * `data_version` does not show it yet and nothing else would be written after it: so each event is followed
 * by a few re-checks over the next ~50 ms. Where the folder cannot be watched there are no hints; the
 * spool's safety tick still finds messages. Returns the function that stops the feed.
 */
export function watchDatabaseFile(path: string, dataVersion: () => number, onChange: () => void): () => void {
  let lastVersion = safeVersion(dataVersion, -1)
  let followUp: NodeJS.Timeout | undefined
  let followUpsLeft = 0
  let stopped = false
  const check = (): void => {
    if (stopped) return
    const version = safeVersion(dataVersion, lastVersion)
    if (version === lastVersion) return
    lastVersion = version
    onChange()
  }
  const scheduleFollowUps = (): void => {
    followUpsLeft = FOLLOW_UP_DELAYS_MS.length
    if (followUp !== undefined) return
    const next = (): void => {
      const delay = FOLLOW_UP_DELAYS_MS[FOLLOW_UP_DELAYS_MS.length - followUpsLeft]
      if (delay === undefined || stopped) {
        followUp = undefined
        return
      }
      followUp = setTimeout(() => {
        followUpsLeft--
        check()
        next()
      }, delay)
    }
    next()
  }
  const base = basename(path)
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename === null || filename.startsWith(base)) {
        check()
        scheduleFollowUps()
      }
    })
    watcher.on('error', () => {
      watcher?.close()
      watcher = undefined
    })
  } catch {
    // No file events here (e.g. the folder cannot be watched): the spool's safety tick still finds messages.
    watcher = undefined
  }
  return () => {
    stopped = true
    watcher?.close()
    watcher = undefined
    clearTimeout(followUp)
    followUp = undefined
  }
}

function safeVersion(dataVersion: () => number, fallback: number): number {
  try {
    return dataVersion()
  } catch {
    return fallback
  }
}
