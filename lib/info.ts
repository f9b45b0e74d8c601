// What a pidfd tells about its process: ids, credentials, cgroup, and the exit once reaped.

import type { NativeInfo } from './native.js'
import { toExitInfo, type ExitInfo } from './exit.js'

export interface ProcessInfo {
  /** The pid in this process's pid namespace; -1 once the process is reaped. */
  pid: number
  tgid: number
  ppid: number
  ruid: number
  rgid: number
  euid: number
  egid: number
  suid: number
  sgid: number
  fsuid: number
  fsgid: number
  /** The cgroup v2 id (its directory's inode number); null where it cannot be had. */
  cgroupId: bigint | null
  /** Once the process is reaped, where the kernel keeps its exit (Linux 6.15). */
  exit?: ExitInfo
}

export function toProcessInfo(native: NativeInfo): ProcessInfo {
  const { source: _source, exit, cgroupId, ...ids } = native
  const info: ProcessInfo = { ...ids, cgroupId: cgroupId ?? null }
  if (exit) info.exit = toExitInfo(exit)
  return Object.freeze(info)
}

/** The kinds `namespace()` takes, as /proc/<pid>/ns names them. */
export const NAMESPACE_KINDS = [
  'cgroup',
  'ipc',
  'mnt',
  'net',
  'pid',
  'pid_for_children',
  'time',
  'time_for_children',
  'user',
  'uts',
] as const
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number]
