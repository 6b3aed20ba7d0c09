import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statfsSync } from 'node:fs'

/**
 * Linux file systems whose files are the kernel's views, not storage (`statfs` f_type): proc, sysfs,
 * debugfs, tracefs, securityfs, cgroup and cgroup2. Their files are "regular", yet most stat as 0 bytes
 * (a sysfs file as 4096) and read as generated text: a database there can be neither read nor written.
 */
const KERNEL_FILE_SYSTEMS = new Set([
  0x9fa0, 0x62656572, 0x64626720, 0x74726163, 0x73636673, 0x27e0eb, 0x63677270,
])

/**
 * True when `path`, a regular file by `stat`, is a kernel file rather than stored bytes: on a Linux kernel
 * file system (/proc, /sys…), or — on any system — a file that stats as empty yet reads data (generated
 * on reading, as procfs files are). Only a 0-byte file is read, one byte of it.
 */
export function isKernelFile(path: string, stat: Stats): boolean {
  if (process.platform === 'linux' && KERNEL_FILE_SYSTEMS.has(statfsSync(path).type)) return true
  return stat.size === 0 && readsData(path)
}

/**
 * Whether reading `path` gives at least one byte while it still stats as empty; false when it cannot be read
 * (the open reports that). The size is checked again after the read: a file another process has just begun
 * to write (a fresh database's header, between our `stat` and our read) reads data but no longer stats as
 * empty, and is a real file; a generated file stays 0 bytes however much it reads.
 */
function readsData(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch {
    // Unreadable (permissions): not ours to judge here; opening the database says why it cannot.
    return false
  }
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, 0) > 0 && fstatSync(fd).size === 0
  } finally {
    closeSync(fd)
  }
}
