// PidFd (blocking wait) and AsyncPidFd (Promise wait) over one native handle each.
//
// Asynchronous waits: the native side watches the pidfd on its own thread, caches the exit the
// moment the process ends, then calls this environment's one completion channel with the id of
// the handle to settle; a child this package spawned is collected by this environment's own
// event loop instead, which calls onExits directly. Promises, waiter lists and the per-handle
// record live here.

import { ChildProcess } from 'node:child_process'
import { getSystemErrorName } from 'node:util'

import { binding, type Channel, type NativePidFd } from './native.js'
import {
  abortError,
  callNative,
  closedError,
  fromNative,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  systemError,
} from './errors.js'
import { exitFromEvent, exitFromSlots, exitSlots, type ExitInfo } from './exit.js'
import { NAMESPACE_KINDS, toProcessInfo, type NamespaceKind, type ProcessInfo } from './info.js'
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
/** Gives a handle the exit record the native side handed over with its notification. */
const known = Symbol('known')

function openNative(pid: unknown, options: unknown): NativePidFd {
  const checkedPid = validatePid(pid)
  const reap = validateBoolean('options.reap', validateObject('options', options).reap) ?? false
  return callNative(() => binding.NativePidFd.open(checkedPid, reap))
}

/** @internal How a Subprocess (this package's own child) answers fromChild(). */
export const kOwnChild = Symbol('pidfd.ownChild')
export type OwnChild = { exit: ExitInfo } | { native: NativePidFd } | { error: Error }

/** This package's own child, if `child` is one: its full record, a second handle, or its error. */
function ownChild(child: unknown): OwnChild | null {
  const answer = (child as { [kOwnChild]?: () => OwnChild } | null)?.[kOwnChild]
  return typeof answer === 'function' ? answer.call(child) : null
}

/** What fromChild() needs of a child_process child. */
function checkChild(child: unknown, options: unknown): ChildProcess {
  if (!(child instanceof ChildProcess)) throw invalidArgType('child', 'ChildProcess', child)
  const { reap } = validateObject('options', options)
  if (reap !== undefined && reap !== false) {
    throw invalidArgValue('options.reap', reap, 'is not allowed: fromChild never reaps, libuv does')
  }
  return child
}

/** How a child_process child ended, from its own record (after libuv reaped it). */
function exitOfChild(child: ChildProcess): ExitInfo | null {
  if (child.signalCode !== null) return exitFromEvent(null, child.signalCode as NodeJS.Signals)
  if (child.exitCode !== null && child.exitCode >= 0) return exitFromEvent(child.exitCode, null)
  return null
}

/**
 * The host is Node itself, whose event loop is libuv's: Bun and Deno run N-API modules too, but
 * their `uv_*` functions are stubs (Bun's abort the process).
 */
const IS_NODE = !('bun' in process.versions) && !('deno' in process.versions)

/** The error a child that never spawned reported (its exitCode is the negative errno). */
function spawnErrorOf(child: ChildProcess): Error | null {
  if (child.pid !== undefined || child.exitCode === null || child.exitCode >= 0) return null
  const code = getSystemErrorName(child.exitCode)
  return Object.assign(systemError(code, `spawn ${child.spawnfile}`), { path: child.spawnfile, spawnargs: child.spawnargs.slice(1) })
}

/** The refusal of a child with no pid and no spawn error to read (both fromChild()s). */
function noPid(child: ChildProcess): TypeError {
  return invalidArgValue('child', child.spawnfile, 'has no pid: it did not spawn')
}

abstract class Handle {
  /** The process id the handle was opened for (0 for a child that never spawned). */
  readonly pid: number
  #native: NativePidFd | null
  #exit: ExitInfo | null
  #closed = false
  /** Set by fromChild: where to read the exit once libuv has reaped the child. */
  #child: ChildProcess | null = null

  constructor(key: symbol, native: NativePidFd | null, pid = native?.pid ?? 0, exit: ExitInfo | null = null) {
    if (key !== token) throw new TypeError('Use fromPid() to open a pidfd')
    this.#native = native
    this.pid = pid
    this.#exit = exit
  }

  /** The pidfd's descriptor number; -1 once closed (or where none was opened). */
  get fd(): number {
    return this.#native?.fd ?? -1
  }

  protected get native(): NativePidFd {
    if (this.#closed || this.#native === null) throw closedError()
    return this.#native
  }

  protected get closed(): boolean {
    return this.#closed
  }

  /** @internal A second native handle on the same process (spawn's `pidfd`). */
  shareNative(): NativePidFd {
    const native = this.native
    return callNative(() => native.share())
  }

  /** The exit the native side just wrote into `exitSlots`, kept as this handle's record. */
  protected record(): ExitInfo {
    return (this.#exit ??= exitFromSlots(exitSlots))
  }

  /** @internal */
  [known](exit: ExitInfo): void {
    this.#exit ??= exit
  }

  protected watchChild(child: ChildProcess): void {
    this.#child = child
  }

  /**
   * The exit if the process has ended (collecting it now), null while it runs. For a process
   * that is not our child: null until its own parent has reaped it.
   */
  tryWait(): ExitInfo | null {
    if (this.#closed) throw closedError()
    if (this.#exit) return this.#exit
    const native = this.native
    // A child libuv reaped first is no error here: the native side reads its exit from the
    // kernel (an ECHILD from waitid never reaches JavaScript).
    if (!callNative(() => native.tryWait(exitSlots))) return null
    if (exitSlots[0] === 3 && this.#child) {
      // Status unknown (a kernel without PIDFD_INFO_EXIT): the child's own record says more.
      const own = exitOfChild(this.#child)
      if (own) return (this.#exit ??= own)
    }
    return this.record()
  }

  /**
   * Sends a signal (default 'SIGTERM') through the pidfd: it can only reach this process,
   * never one that reused its pid. Throws ESRCH once the exit is known.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): void {
    this.#signal(signal, 'pidfd_send_signal', (native, number) => native.kill(number))
  }

  /**
   * Sends a signal (default 'SIGTERM') to the process group this process leads: a child this
   * package spawned with `processGroup: true` or `detached: true`, while it is unreaped (its
   * pid, and so its group's id, cannot be reused then). Throws ESRCH once its exit is known, or
   * for a process this package did not spawn.
   */
  killGroup(signal: NodeJS.Signals | number = 'SIGTERM'): void {
    this.#signal(signal, 'kill', (native, number) => native.killGroup(number))
  }

  /** A signal through `send`, unless the handle is closed or the exit known (ESRCH from `syscall`). */
  #signal(signal: NodeJS.Signals | number, syscall: string, send: (native: NativePidFd, number: number) => void): void {
    const number = toSignalNumber(signal)
    if (this.#closed) throw closedError()
    if (this.#exit) throw systemError('ESRCH', syscall)
    const native = this.native
    callNative(() => send(native, number))
  }

  /**
   * Ids, credentials and cgroup (PIDFD_GET_INFO, Linux 6.13; /proc before that). Once the
   * process is reaped, the ids and credentials read -1 and `exit` holds its exit where the
   * kernel keeps it (Linux 6.15).
   */
  info(): ProcessInfo {
    const native = this.native
    return toProcessInfo(callNative(() => native.info()))
  }

  /**
   * A new close-on-exec descriptor for one of the process's namespaces (PIDFD_GET_*_NAMESPACE,
   * Linux 6.11; /proc/<pid>/ns before that). The caller owns it: close it with fs.closeSync.
   */
  namespace(kind: NamespaceKind): number {
    if (typeof kind !== 'string') throw invalidArgType('kind', 'string', kind)
    if (!(NAMESPACE_KINDS as readonly string[]).includes(kind)) {
      throw invalidArgValue('kind', kind, `must be one of ${NAMESPACE_KINDS.join(', ')}`)
    }
    const native = this.native
    return callNative(() => native.namespace(kind))
  }

  /**
   * A close-on-exec duplicate of the process's descriptor `targetFd` (pidfd_getfd, Linux 5.6;
   * needs the right to ptrace the process). The caller owns it.
   */
  getFd(targetFd: number): number {
    if (typeof targetFd !== 'number') throw invalidArgType('targetFd', 'number', targetFd)
    if (!Number.isInteger(targetFd) || targetFd < 0 || targetFd > 2 ** 31 - 1) {
      throw outOfRange('targetFd', 'an integer >= 0 and <= 2147483647', targetFd)
    }
    const native = this.native
    return callNative(() => native.getFd(targetFd))
  }

  /** Closes the pidfd. Idempotent. */
  close(): void {
    this.#native?.close()
    this.#native = null
    this.#closed = true
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

  /** A pidfd for the current process, for introspection (waiting on it throws ERR_PIDFD_SELF). */
  static self(): PidFd {
    return PidFd.fromPid(process.pid)
  }

  /**
   * A handle on a child_process child that never reaps it, so its 'exit' still fires. A child
   * that already exited gets a handle with its exit and no descriptor.
   */
  static fromChild(child: ChildProcess, options?: { reap?: false }): PidFd {
    checkChild(child, options)
    const own = ownChild(child)
    if (own) {
      if ('error' in own) throw own.error
      return 'exit' in own ? new PidFd(token, null, child.pid, own.exit) : new PidFd(token, own.native)
    }
    const done = exitOfChild(child)
    if (done) return new PidFd(token, null, child.pid, done)
    const failed = spawnErrorOf(child)
    if (failed) throw failed
    if (child.pid === undefined) {
      throw noPid(child)
    }
    const handle = new PidFd(token, callNative(() => binding.NativePidFd.open(child.pid!, false)))
    handle.watchChild(child)
    return handle
  }

  /**
   * Blocks this thread until the process exits; every later call returns the same record. With
   * `timeout` (ms), blocks at most that long and returns null if the process still runs. While
   * it blocks, nothing else runs on this thread: a worker blocked here keeps
   * `worker.terminate()` and `process.exit()` waiting, as `spawnSync` would.
   */
  wait(): ExitInfo
  wait(options: { timeout?: number }): ExitInfo | null
  wait(options?: { timeout?: number }): ExitInfo | null {
    const timeout = waitTimeout(validateObject('options', options).timeout)
    const now = this.tryWait()
    if (now) return now
    const native = this.native
    if (!callNative(() => native.wait(exitSlots, timeout))) return null
    return this.record()
  }
}

/**
 * @internal Sends `signal` to each pid through a pidfd opened first (a pid freed and reused
 * meanwhile is not hit, one already gone is skipped); returns how many it reached. The
 * Subreaper's leftovers and a cgroup's processes are signalled so.
 */
export function signalEach(pids: Iterable<number>, signal: NodeJS.Signals | number): number {
  let reached = 0
  for (const pid of pids) {
    let handle: PidFd | null = null
    try {
      handle = PidFd.fromPid(pid)
      handle.kill(signal)
      reached++
    } catch {
      // gone meanwhile
    } finally {
      handle?.close()
    }
  }
  return reached
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

/** Where the native side writes the exit records of a batch told from the loop (64 at most). */
const batchSlots = new Float64Array(exitSlots.length * 64)

/**
 * The spawned children this environment's event loop reaped, told straight from the loop: each
 * id's exit record is in `batchSlots`, in the order of `ids`, so settling reads no more of the
 * native side.
 */
function onExits(ids: number[]): void {
  // No waiter throws (see Waiter), so each of the batch is told its exit.
  for (let i = 0; i < ids.length; i++) {
    const handle = pending.get(ids[i]!)
    if (!handle) continue
    handle[known](exitFromSlots(batchSlots.subarray(i * exitSlots.length, (i + 1) * exitSlots.length)))
    onNotify(ids[i]!)
  }
}

/** @internal This environment's completion channel (spawn() hands it to the native side). */
export function getChannel(): Channel {
  return (channel ??= new binding.Channel(onNotify, onExits, batchSlots, IS_NODE))
}

function hold(): void {
  if (refs++ === 0) getChannel().ref()
}

function release(): void {
  if (--refs === 0) getChannel().unref()
}

export interface WaitOptions {
  /** Stops waiting (not the process): the promise rejects with an AbortError. */
  signal?: AbortSignal
  /** Stops waiting after this many milliseconds, as `signal: AbortSignal.timeout(ms)` would. */
  timeout?: number
}

/** A wait's `timeout` option: milliseconds, an integer from 0 to 2³¹−1, or undefined. */
function waitTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined) return undefined
  if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'number', timeout)
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 2 ** 31 - 1) {
    throw outOfRange('options.timeout', 'an integer >= 0 and <= 2147483647', timeout)
  }
  return timeout
}

function waitSignal(options: unknown): AbortSignal | undefined {
  const { signal, timeout: given } = validateObject('options', options)
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'AbortSignal', signal)
  }
  const timeout = waitTimeout(given)
  if (timeout === undefined) return signal
  const timer = AbortSignal.timeout(timeout)
  return signal ? AbortSignal.any([signal, timer]) : timer
}

/**
 * @internal One pending wait: told the exit or the error, once. Its methods never throw: the
 * exits of a batch are told in one loop, and a throw would keep the rest from theirs. (A
 * Subprocess's waiter runs the 'exit' listeners, and rethrows their errors on the next tick.)
 */
export interface Waiter {
  resolve(exit: ExitInfo): void
  reject(err: unknown): void
  done?(): void
}

/** A pidfd whose wait() returns a Promise; a pending wait keeps the event loop alive. */
export class AsyncPidFd extends Handle {
  /** None, the one (a spawned child's: no array for it), or several. */
  #waiters: Waiter | Waiter[] | null = null
  #id = 0
  #refed = true
  /** A child that never spawned: waits reject with its spawn error. */
  #spawnError: Promise<never> | null = null

  /** Opens a pidfd for `pid` (Linux ≥ 5.3). */
  static fromPid(pid: number, options?: FromPidOptions): AsyncPidFd {
    return new AsyncPidFd(token, openNative(pid, options))
  }

  /** A pidfd for the current process, for introspection (waiting on it rejects with ERR_PIDFD_SELF). */
  static self(): AsyncPidFd {
    return AsyncPidFd.fromPid(process.pid)
  }

  /**
   * A handle on a child_process child that never reaps it: its 'exit' still fires, and wait()
   * resolves even when libuv reaps first (from PIDFD_INFO_EXIT or from the child's own record,
   * then with `rusage: null`). A child that already exited resolves from its exitCode and
   * signalCode; one that never spawned rejects with its spawn error.
   */
  static fromChild(child: ChildProcess, options?: { reap?: false }): AsyncPidFd {
    checkChild(child, options)
    const own = ownChild(child)
    if (own) {
      if ('error' in own) return AsyncPidFd.#failedWith(own.error)
      return 'exit' in own ? new AsyncPidFd(token, null, child.pid, own.exit) : new AsyncPidFd(token, own.native)
    }
    const done = exitOfChild(child)
    if (done) return new AsyncPidFd(token, null, child.pid, done)
    if (child.pid === undefined) {
      const failed = spawnErrorOf(child)
      if (failed) return AsyncPidFd.#failedWith(failed)
      // A ChildProcess made but never spawned, or whose spawn() threw (child_process throws
      // what is not a run-time error, and drops the handle), has no 'error' to come: refused,
      // as PidFd's.
      if (child.spawnfile == null || (child as { _handle?: unknown })._handle === null) throw noPid(child)
      // Its 'error' comes on the next tick.
      return AsyncPidFd.#failedWith(new Promise<never>((_, reject) => child.once('error', reject)))
    }
    const handle = new AsyncPidFd(token, callNative(() => binding.NativePidFd.open(child.pid!, false)))
    handle.watchChild(child)
    return handle
  }

  /** @internal A handle on a native handle this package made (spawn). */
  static fromNative(native: NativePidFd): AsyncPidFd {
    return new AsyncPidFd(token, native)
  }

  /** @internal A handle on a process that has ended, with its record and no descriptor. */
  static ofExit(pid: number, exit: ExitInfo): AsyncPidFd {
    return new AsyncPidFd(token, null, pid, exit)
  }

  /** @internal The handle of a spawn that failed: no process, waits reject with `error`. */
  static failed(error: Error): AsyncPidFd {
    return AsyncPidFd.#failedWith(error)
  }

  static #failedWith(error: Error | Promise<never>): AsyncPidFd {
    const handle = new AsyncPidFd(token, null, 0)
    handle.#spawnError = error instanceof Error ? Promise.reject(error) : error
    handle.#spawnError.catch(() => {})
    return handle
  }

  /**
   * Resolves when the process exits; every call resolves with the same record. Aborting a wait
   * (signal, timeout) rejects that wait only: the pidfd and the process stay as they were.
   */
  wait(options?: WaitOptions): Promise<ExitInfo> {
    let signal: AbortSignal | undefined
    try {
      signal = waitSignal(options)
      if (this.#spawnError && !this.closed) return this.#spawnError
      const now = this.tryWait()
      if (now) return Promise.resolve(now)
    } catch (err) {
      return Promise.reject(err)
    }
    if (signal?.aborted) return Promise.reject(abortError(signal.reason))
    return new Promise<ExitInfo>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject }
      if (signal) {
        const onAbort = () => {
          this.#drop(waiter)
          reject(abortError(signal.reason))
        }
        // Taken off by #drop() on abort, and by #finish() otherwise: a signal kept for many
        // waits holds no listener of a wait that has ended.
        signal.addEventListener('abort', onAbort)
        waiter.done = () => signal.removeEventListener('abort', onAbort)
      }
      this.#add(waiter)
      if (this.#id === 0) this.#watch()
    })
  }

  /**
   * @internal For spawn(), on its new handle (not watched yet): `waiter` learns the exit (or the
   * error) once, never during this call, with no promise of its own. Watched from this call on
   * (a spawned child goes into this environment's own set at once, so its exit is collected by
   * this thread's event loop however soon it comes); an exit already known is told from the
   * event loop, as child_process emits 'exit': after every nextTick and microtask of the code
   * that spawned.
   */
  listen(waiter: Waiter): void {
    this.#add(waiter)
    this.#watch(true)
  }

  #add(waiter: Waiter): void {
    const waiters = this.#waiters
    if (waiters === null) this.#waiters = waiter
    else if (Array.isArray(waiters)) waiters.push(waiter)
    else this.#waiters = [waiters, waiter]
  }

  /** Pending waits keep the event loop alive (the default). */
  ref(): this {
    if (!this.#refed && this.#id !== 0) hold()
    this.#refed = true
    return this
  }

  /** Pending waits no longer keep the event loop alive. */
  unref(): this {
    if (this.#refed && this.#id !== 0) release()
    this.#refed = false
    return this
  }

  #drop(waiter: Waiter): void {
    const waiters = this.#waiters
    if (Array.isArray(waiters)) {
      const left = waiters.filter((w) => w !== waiter)
      this.#waiters = left.length > 0 ? left : null
    } else if (waiters === waiter) {
      this.#waiters = null
    }
    waiter.done?.()
    if (this.#waiters === null) this.#unwatch()
  }

  /** `later`: a failure is told on the next tick, not during the call. */
  #watch(later = false): void {
    const id = nextId
    nextId = nextId >= 0xffff_ffff ? 1 : nextId + 1
    let subscribed: boolean
    try {
      const native = this.native
      subscribed = callNative(() => native.watch(getChannel(), id))
    } catch (err) {
      if (later) process.nextTick(() => this.#finish(err))
      else this.#finish(err)
      return
    }
    if (!subscribed) {
      // Known since the check that led here (the watcher collected it meanwhile): told from
      // the event loop, as a watched exit is.
      setImmediate(() => this.#finish(null))
      return
    }
    this.#id = id
    pending.set(id, this)
    if (this.#refed) hold()
  }

  #unwatch(): void {
    if (this.#id === 0) return
    pending.delete(this.#id)
    this.#id = 0
    if (this.#refed) release()
  }

  /** @internal Called by the completion channel. */
  [settle](err: Error | null): void {
    this.#unwatch()
    this.#finish(err)
  }

  #finish(err: unknown): void {
    let exit: ExitInfo | null = null
    if (err === null) {
      try {
        exit = this.tryWait()
      } catch (e) {
        err = e
      }
    }
    // The native side tells an exit only once it holds the record, so `exit` is there when
    // `err` is not; should that ever break, the waits reject with an error, not with null.
    if (exit === null && err === null) err = new Error('pidfd: the watcher reported an exit that could not be read')
    const waiters = this.#waiters
    this.#waiters = null
    if (waiters === null) return
    for (const w of Array.isArray(waiters) ? waiters : [waiters]) {
      w.done?.()
      if (exit) w.resolve(exit)
      else w.reject(err)
    }
  }

  /** Closes the pidfd; pending waits reject with ERR_PIDFD_CLOSED. */
  override close(): void {
    super.close()
    this.#unwatch()
    // Only with waiters: an error (and its stack) made for nobody would cost each close.
    if (this.#waiters !== null) this.#finish(closedError())
  }
}
