// pidfd: race-free process handles for Node.js on Linux.

import { binding } from './lib/native.js'

export { PidFd, AsyncPidFd, type FromPidOptions } from './lib/pidfd.js'
export { spawn, Subprocess, type SpawnOptions, type StdioKind } from './lib/subprocess.js'
export type { ExitInfo, ResourceUsage, SigInfo } from './lib/exit.js'
export type { SystemError } from './lib/errors.js'

/** Whether this kernel has what the package needs: pidfd_open and waitid(P_PIDFD), Linux ≥ 5.4. */
export function isSupported(): boolean {
  try {
    return binding.isSupported()
  } catch {
    return false
  }
}
