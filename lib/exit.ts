// The exit record users get: the native one with signal names, frozen so one record can be
// shared by every waiter.

import type { NativeExit } from './native.js'
import { signalName, toSignalNumber } from './signals.js'

/** The sixteen fields of `process.resourceUsage()`: CPU times in microseconds, maxRSS in KiB. */
export interface ResourceUsage {
  userCPUTime: number
  systemCPUTime: number
  maxRSS: number
  sharedMemorySize: number
  unsharedDataSize: number
  unsharedStackSize: number
  minorPageFault: number
  majorPageFault: number
  swappedOut: number
  fsRead: number
  fsWrite: number
  ipcSent: number
  ipcReceived: number
  signalsCount: number
  voluntaryContextSwitches: number
  involuntaryContextSwitches: number
}

/** The SIGCHLD fields of the `siginfo_t` that `waitid` filled. */
export interface SigInfo {
  signo: number
  /** CLD_EXITED (1), CLD_KILLED (2) or CLD_DUMPED (3). */
  siCode: number
  pid: number
  uid: number
  /** The exit code, or the signal number. */
  status: number
}

export interface ExitInfo {
  /** 'unknown' only where the kernel cannot tell. */
  status: 'exited' | 'signaled' | 'unknown'
  /** The exit code, as the 'exit' event gives it (null when signaled). */
  code: number | null
  /** The signal's Node name, as the 'exit' event gives it (null when exited, or a real-time signal). */
  signal: NodeJS.Signals | null
  /** The signal number, also for real-time signals. */
  signalNumber: number | null
  /** null where the source cannot tell. */
  coreDumped: boolean | null
  /** null where another reaper took the process first. */
  siginfo: SigInfo | null
  /** null only where another reaper took the process first. */
  rusage: ResourceUsage | null
}

export function toExitInfo(native: NativeExit): ExitInfo {
  const signalNumber = native.signalNumber ?? null
  return Object.freeze({
    status: native.status as ExitInfo['status'],
    code: native.code ?? null,
    signal: signalNumber === null ? null : signalName(signalNumber),
    signalNumber,
    coreDumped: native.coreDumped ?? null,
    siginfo: native.siginfo ? Object.freeze({ ...native.siginfo }) : null,
    rusage: native.rusage ? Object.freeze({ ...native.rusage }) : null,
  })
}

/** Where the native side writes an exit (see `NativeExit::write_to` in src/exit.rs). */
export const exitSlots = new Float64Array(27)

const maybe = (v: number): number | null => (Number.isNaN(v) ? null : v)
const STATUS = [null, 'exited', 'signaled', 'unknown'] as const

/** The record the native side wrote into `s`. */
export function exitFromSlots(s: Float64Array): ExitInfo {
  const signalNumber = maybe(s[2]!)
  return Object.freeze({
    status: STATUS[s[0]!] ?? 'unknown',
    code: maybe(s[1]!),
    signal: signalNumber === null ? null : signalName(signalNumber),
    signalNumber,
    coreDumped: Number.isNaN(s[3]!) ? null : s[3] === 1,
    siginfo: s[4] === 1 ? Object.freeze({ signo: s[5]!, siCode: s[6]!, pid: s[7]!, uid: s[8]!, status: s[9]! }) : null,
    rusage:
      s[10] === 1
        ? Object.freeze({
            userCPUTime: s[11]!,
            systemCPUTime: s[12]!,
            maxRSS: s[13]!,
            sharedMemorySize: s[14]!,
            unsharedDataSize: s[15]!,
            unsharedStackSize: s[16]!,
            minorPageFault: s[17]!,
            majorPageFault: s[18]!,
            swappedOut: s[19]!,
            fsRead: s[20]!,
            fsWrite: s[21]!,
            ipcSent: s[22]!,
            ipcReceived: s[23]!,
            signalsCount: s[24]!,
            voluntaryContextSwitches: s[25]!,
            involuntaryContextSwitches: s[26]!,
          })
        : null,
  })
}

/** A record from what an 'exit' event gives: no siginfo, no rusage, core dump unknown. */
export function exitFromEvent(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  return Object.freeze({
    status: signal !== null ? 'signaled' : code !== null ? 'exited' : 'unknown',
    code: signal !== null ? null : code,
    signal,
    signalNumber: signal !== null ? toSignalNumber(signal) : null,
    coreDumped: null,
    siginfo: null,
    rusage: null,
  })
}
