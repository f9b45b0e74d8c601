// Loads the native binding, or fails with one sentence that says why.

if (process.platform !== 'linux') {
  throw new Error(
    `The pidfd package works only on Linux (it is built on pidfd_open and waitid(P_PIDFD)); this is ${process.platform}.`,
  )
}

import type * as Binding from '../binding.js'

function load(): typeof Binding {
  try {
    return require('../binding.js') as typeof Binding
  } catch (cause) {
    throw new Error(
      `The pidfd package has no prebuilt binary for linux-${process.arch} here: install its optional dependency for this platform, or build it with cargo (npm run build).`,
      { cause },
    )
  }
}

export const binding = load()
export type NativePidFd = Binding.NativePidFd
export type NativeExit = Binding.NativeExit
export type Channel = Binding.Channel
export type NativeInfo = Binding.NativeInfo
