// What this kernel offers, detected once it can be (PIDFD_DISABLE=name,… pretends some is missing).

import { binding } from './native.js'

export interface Features {
  /** pidfd_open (Linux 5.3): fromPid, fromChild. */
  pidfdOpen: boolean
  /** waitid(P_PIDFD) (Linux 5.4): wait, tryWait, spawn. */
  waitidPidfd: boolean
  /** PIDFD_NONBLOCK (Linux 5.10). */
  pidfdNonblock: boolean
  /** pidfd_send_signal (Linux 5.1): kill. */
  sendSignal: boolean
  /** pidfd_getfd (Linux 5.6): getFd. */
  getFd: boolean
  /** ioctl(PIDFD_GET_INFO) (Linux 6.13): info() without /proc. */
  getInfo: boolean
  /** PIDFD_INFO_EXIT (Linux 6.15): the exit status of a process someone else reaped. */
  infoExit: boolean
  /** ioctl(PIDFD_GET_*_NAMESPACE) (Linux 6.11): namespace() without /proc. */
  namespaces: boolean
  /**
   * A pidfd wakes its waiters at the process's reap (Linux 6.9). Without it, a process that is
   * not this package's to reap is looked at again every 20 ms between its exit and its reap.
   */
  reapWakeup: boolean
  /**
   * clone3(CLONE_INTO_CGROUP) (Linux 5.7): spawn's `cgroup` makes the child in its cgroup.
   * Without it the child writes itself into `cgroup.procs` before its exec.
   */
  cloneIntoCgroup: boolean
}

let last: Features | null = null

/**
 * The capabilities of this kernel, detected on first call; seccomp-refused calls count as absent.
 * The native side remembers the answer once every probe gave a real one (a probe that met a
 * shortage of descriptors counts as present until it can run), so this only keeps the last
 * answer (the same frozen object while it does not change).
 */
export function features(): Features {
  const now = binding.features()
  const same = last !== null && (Object.keys(now) as Array<keyof Features>).every((k) => now[k] === last![k])
  return same ? last! : (last = Object.freeze({ ...now }))
}

