// PidFd (blocking wait) and AsyncPidFd (Promise wait) over one native handle each.
//
// Asynchronous waits: the native side watches the pidfd on its own thread, caches the exit the
// moment the process ends, then calls this environment's one completion channel with the id of
// the handle to settle. Promises, waiter lists and the per-handle record live here.

import { binding, type Channel, type NativeExit, type NativePidFd } from './native.js'
import { callNative, closedError, fromNative } from './errors.js'
import { toExitInfo, type ExitInfo } from './exit.js'
import { toSignalNumber } from './signals.js'
import { validateBoolean, validateObject, validatePid } from './validate.js'

export interface FromPidOptions {
  /**
   * Collect the exit with a reaping wait (the process must be our child). By default the exit
   * is read with WNOWAIT and the reap is left to the parent, so a child of `child_process`
   * still gets its 'exit' event.
   */
  reap?: boolean
}

/** Lets only this package construct handles. */
const token = Symbol('pidfd')

function openNative(pid: unknown, options: unknown): NativePidFd {
  const checkedPid = validatePid(pid)
  const reap = validateBoolean('options.reap', validateObject('options', options).reap) ?? false
  return callNative(() => binding.NativePidFd.open(checkedPid, reap))
}

abstract class Handle {
  /** The process id the handle was opened for. */
  readonly pid: number
  #native: NativePidFd | null
  #exit: ExitInfo | null = null

  constructor(key: symbol, native: NativePidFd) {
    if (key !== token) throw new TypeError('Use fromPid() to open a pidfd')
    this.#native = native
    this.pid = native.pid
  }

  /** The pidfd's descriptor number; -1 once closed. */
  get fd(): number {
    return this.#native?.fd ?? -1
  }

  protected get native(): NativePidFd {
    if (this.#native === null) throw closedError()
    return this.#native
  }

  protected record(native: NativeExit): ExitInfo {
    return (this.#exit ??= toExitInfo(native))
  }

  /** The exit if the process has ended (collecting it now), null while it runs. */
  tryWait(): ExitInfo | null {
    const native = this.native
    if (this.#exit) return this.#exit
    const result = callNative(() => native.tryWait())
    return result ? this.record(result) : null
  }

  /**
   * Sends a signal (default 'SIGTERM') through the pidfd: it can only reach this process,
   * never one that reused its pid. Throws ESRCH once the exit is known.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): void {
    const number = toSignalNumber(signal)
    const native = this.native
    callNative(() => native.kill(number))
  }

  /** Closes the pidfd. Idempotent. */
  close(): void {
    this.#native?.close()
    this.#native = null
  }

  [Symbol.dispose](): void {
    this.close()
  }
}

/** A pidfd with a blocking wait. */
export class PidFd extends Handle {
  /** Opens a pidfd for `pid` (Linux ≥ 5.3). */
  static fromPid(pid: number, options?: FromPidOptions): PidFd {
    return new PidFd(token, openNative(pid, options))
  }

  /** Blocks until the process exits; every later call returns the same record. */
  wait(): ExitInfo {
    const native = this.native
    return this.tryWait() ?? this.record(callNative(() => native.wait()))
  }
}

// One completion channel per environment (this module is loaded once per worker).
let channel: Channel | null = null
let refs = 0
let nextId = 1
const pending = new Map<number, AsyncPidFd>()
const settle = Symbol('settle')

function onNotify(id: number, code?: string | null, message?: string | null): void {
  const handle = pending.get(id)
  if (!handle) return
  pending.delete(id)
  handle[settle](code ? fromNative(Object.assign(new Error(message ?? code), { code })) : null)
}

function getChannel(): Channel {
  return (channel ??= new binding.Channel(onNotify))
}

function hold(): void {
  if (refs++ === 0) getChannel().ref()
}

function release(): void {
  if (--refs === 0) getChannel().unref()
}

interface Waiter {
  resolve(exit: ExitInfo): void
  reject(err: unknown): void
}

/** A pidfd whose wait() returns a Promise; a pending wait keeps the event loop alive. */
export class AsyncPidFd extends Handle {
  #waiters: Waiter[] = []
  #id = 0

  /** Opens a pidfd for `pid` (Linux ≥ 5.3). */
  static fromPid(pid: number, options?: FromPidOptions): AsyncPidFd {
    return new AsyncPidFd(token, openNative(pid, options))
  }

  /** @internal A handle on a native handle this package made (spawn). */
  static fromNative(native: NativePidFd): AsyncPidFd {
    return new AsyncPidFd(token, native)
  }

  /** Resolves when the process exits; every call resolves with the same record. */
  wait(): Promise<ExitInfo> {
    try {
      const now = this.tryWait()
      if (now) return Promise.resolve(now)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<ExitInfo>((resolve, reject) => {
      this.#waiters.push({ resolve, reject })
      if (this.#id === 0) this.#watch()
    })
  }

  #watch(): void {
    const id = nextId
    nextId = nextId >= 0xffff_ffff ? 1 : nextId + 1
    let subscribed: boolean
    try {
      const native = this.native
      subscribed = callNative(() => native.watch(getChannel(), id))
    } catch (err) {
      this.#finish(err)
      return
    }
    if (!subscribed) {
      // Already known: read it now. Nothing to watch again if it is somehow not there.
      this.#finish(null, false)
      return
    }
    this.#id = id
    pending.set(id, this)
    hold()
  }

  #unwatch(): void {
    if (this.#id === 0) return
    pending.delete(this.#id)
    this.#id = 0
    release()
  }

  /** @internal Called by the completion channel. */
  [settle](err: Error | null): void {
    this.#unwatch()
    this.#finish(err)
  }

  #finish(err: unknown, watchAgain = true): void {
    let exit: ExitInfo | null = null
    if (err === null) {
      try {
        exit = this.tryWait()
      } catch (e) {
        err = e
      }
    }
    if (exit === null && err === null) {
      if (watchAgain && this.#waiters.length > 0) return this.#watch()
      err = new Error('pidfd: the watcher reported an exit that could not be read')
    }
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) {
      if (exit) w.resolve(exit)
      else w.reject(err)
    }
  }

  /** Closes the pidfd; pending waits reject with ERR_PIDFD_CLOSED. */
  override close(): void {
    super.close()
    this.#unwatch()
    if (this.#waiters.length > 0) this.#finish(closedError())
  }
}
