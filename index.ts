// pidfd: race-free process handles for Node.js on Linux.

// First: under Deno, a load refused a permission says which (lib/load.ts).
import './lib/load.js'
import { binding } from './lib/native.js'

export { PidFd, AsyncPidFd, type FromPidOptions, type WaitOptions } from './lib/pidfd.js'
export { spawn, Subprocess, type SpawnedExit, type SpawnExtras, type SpawnOptions, type StdioKind, type StdioEntry } from './lib/subprocess.js'
export { fork, type ForkOptions } from './lib/fork.js'
export { Channel, type Serialization, type SendCallback } from './lib/ipc.js'
export {
  exec,
  execFile,
  type ExecOptions,
  type ExecFileOptions,
  type ExecException,
  type ExecFileException,
  type ExecCallback,
  type ExecOutput,
  type PromiseWithChild,
  type WithUsage,
} from './lib/exec.js'
export {
  spawnSync,
  execSync,
  execFileSync,
  type SpawnSyncOptions,
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncOptionsWithBufferEncoding,
  type SpawnSyncReturns,
  type ExecSyncOptions,
  type ExecSyncOptionsWithStringEncoding,
  type ExecSyncOptionsWithBufferEncoding,
  type ExecFileSyncOptions,
  type ExecFileSyncOptionsWithStringEncoding,
  type ExecFileSyncOptionsWithBufferEncoding,
  type ExecSync,
  type ExecFileSync,
  type ExecSyncError,
  type OutputWithUsage,
} from './lib/sync.js'
export type { ExitInfo, ResourceUsage, SigInfo } from './lib/exit.js'
export type { ProcessInfo, NamespaceKind } from './lib/info.js'
export { features, type Features } from './lib/features.js'
export type { TraceLine } from './lib/trace.js'
export { Subreaper, combineUsage, type Leftover, type Reaped } from './lib/tree.js'
export { Cgroup, cgroupSupport, type CgroupSupport, type CgroupStats, type CgroupCpu } from './lib/cgroup.js'
export type { SystemError } from './lib/errors.js'

/** Whether this kernel has what the package needs: pidfd_open and waitid(P_PIDFD), Linux ≥ 5.4. */
export function isSupported(): boolean {
  try {
    return binding.isSupported()
  } catch {
    return false
  }
}
