// spawn(): a drop-in for child_process.spawn whose children this package starts through its
// spawn helper, reaps itself, and so always has the rusage of.

import { EventEmitter } from 'node:events'
import { Socket } from 'node:net'
import type { Readable, Stream, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { isMainThread } from 'node:worker_threads'

import { binding, type NativePidFd } from './native.js'
import { abortError, callNative, fromNative, invalidArgType, invalidArgValue, outOfRange } from './errors.js'
import type { ExitInfo, ResourceUsage } from './exit.js'
import { AsyncPidFd, type Waiter } from './pidfd.js'
import { toSignalNumber } from './signals.js'
import { validateBoolean, validateObject } from './validate.js'

export type StdioKind = 'pipe' | 'overlapped' | 'inherit' | 'ignore'
export type StdioEntry = StdioKind | number | Stream | null | undefined

export interface SpawnOptions {
  /** Working directory of the child (default: this process's, at the time of the call). */
  cwd?: string | URL
  /** Environment of the child (default `process.env`); undefined values are left out. */
  env?: NodeJS.ProcessEnv | Record<string, string | undefined>
  /** The child's argv[0] (default: `file`). */
  argv0?: string
  /** One kind for 0–2, or an entry per child descriptor: a kind, a descriptor or a stream of ours. */
  stdio?: StdioKind | StdioEntry[]
  /** Make the child the leader of a new session (setsid). */
  detached?: boolean
  /**
   * Make the child the leader of a new process group (setpgid), in this session: `killGroup()`
   * then reaches everything it starts that stays in its group. Not a child_process option.
   */
  processGroup?: boolean
  uid?: number
  gid?: number
  /** Run `file` and `args`, joined by spaces, with `/bin/sh -c` (or the shell named). */
  shell?: boolean | string
  /** Aborting kills the child with `killSignal` and emits an AbortError. */
  signal?: AbortSignal
  /** Kill the child with `killSignal` after this many milliseconds. */
  timeout?: number
  /** Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number
  /** Windows only; accepted and ignored, as child_process does on Linux. */
  windowsHide?: boolean
  windowsVerbatimArguments?: boolean
}

// Codes the native spawn takes for each child descriptor; >= 0 passes one of ours.
const PIPE = -1
const INHERIT = -2
const IGNORE = -3

/** Spawn errors child_process reports through 'error' instead of throwing. */
const ASYNC_ERRORS = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT'])

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  if (value.includes('\0')) throw invalidArgValue(name, value, 'must be a string without null bytes')
  return value
}

function checkId(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw outOfRange(name, 'an integer >= 0 and <= 2147483647', value)
  }
  return value
}

function fdOfStream(stream: object): number | null {
  const s = stream as { fd?: unknown; _handle?: { fd?: unknown } }
  const fd = typeof s.fd === 'number' ? s.fd : s._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : null
}

function stdioCodes(stdio: unknown): number[] {
  let list: unknown[]
  if (stdio === undefined) list = []
  else if (typeof stdio === 'string') list = [stdio, stdio, stdio]
  else if (Array.isArray(stdio)) list = [...stdio]
  else throw invalidArgType('options.stdio', 'of type string or an instance of Array', stdio)
  while (list.length < 3) list.push(undefined)
  return list.map((entry, i) => {
    const name = `options.stdio[${i}]`
    if (entry === null || entry === undefined) return i < 3 ? PIPE : IGNORE
    if (entry === 'pipe' || entry === 'overlapped') return PIPE
    if (entry === 'inherit') return INHERIT
    if (entry === 'ignore') return IGNORE
    if (entry === 'ipc') {
      throw invalidArgValue(name, entry, 'is not supported: pidfd.spawn has no IPC channel (use child_process.fork)')
    }
    if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 0 && entry <= 2 ** 31 - 1) return entry
    if (typeof entry === 'object') {
      const fd = fdOfStream(entry)
      if (fd !== null) return fd
      throw invalidArgValue(name, entry, 'is a stream without an open file descriptor')
    }
    throw invalidArgValue(name, entry, "must be 'pipe', 'overlapped', 'inherit', 'ignore', a file descriptor or a stream")
  })
}

/**
 * The child's environment as `KEY=value` entries; undefined for this process's own environment,
 * which the native side reads itself. (On the main thread `process.env` is the process's
 * environment; a worker's is its own copy, so a worker passes it.)
 */
function envPairs(env: unknown): string[] | undefined {
  if (env === undefined && isMainThread) return undefined
  const source = env === undefined ? process.env : validateObject('options.env', env)
  const pairs: string[] = []
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue
    const pair = `${key}=${String(value)}`
    if (pair.includes('\0')) throw invalidArgValue('options.env', env, 'must not contain null bytes')
    pairs.push(pair)
  }
  return pairs
}

interface Resolved {
  file: string
  spawnargs: string[]
  native: Parameters<typeof binding.spawn>[0]
  killSignal: number
  timeout: number | undefined
  signal: AbortSignal | undefined
}

function resolve(fileArg: unknown, args: unknown, options: unknown): Resolved {
  const file = checkString('file', fileArg)
  if (file === '') throw invalidArgValue('file', file, 'cannot be empty')
  if (!Array.isArray(args)) throw invalidArgType('args', 'an instance of Array', args)
  const argv: string[] = args.map((a: unknown, i) => checkString(`args[${i}]`, a))
  const opts = validateObject('options', options)

  let cwd: string | undefined
  if (opts.cwd instanceof URL) cwd = fileURLToPath(opts.cwd)
  else if (opts.cwd !== undefined) cwd = checkString('options.cwd', opts.cwd)
  const argv0 = opts.argv0 === undefined ? undefined : checkString('options.argv0', opts.argv0)
  const detached = validateBoolean('options.detached', opts.detached) ?? false
  const processGroup = validateBoolean('options.processGroup', opts.processGroup) ?? false
  const uid = checkId('options.uid', opts.uid)
  const gid = checkId('options.gid', opts.gid)
  validateBoolean('options.windowsHide', opts.windowsHide)
  validateBoolean('options.windowsVerbatimArguments', opts.windowsVerbatimArguments)
  if (opts.serialization !== undefined) {
    throw invalidArgValue('options.serialization', opts.serialization, 'is not supported: pidfd.spawn has no IPC channel')
  }
  const killSignal = toSignalNumber(opts.killSignal ?? 'SIGTERM')
  let timeout: number | undefined
  if (opts.timeout !== undefined && opts.timeout !== null) {
    if (typeof opts.timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', opts.timeout)
    if (!Number.isInteger(opts.timeout) || opts.timeout < 0) {
      throw outOfRange('options.timeout', 'an integer >= 0', opts.timeout)
    }
    timeout = opts.timeout > 0 ? opts.timeout : undefined
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', opts.signal)
  }

  let program = file
  let programArgs = argv
  if (opts.shell !== undefined && opts.shell !== false) {
    const shell = opts.shell === true ? '/bin/sh' : checkString('options.shell', opts.shell)
    programArgs = ['-c', [file, ...argv].join(' ')]
    program = shell
  }
  // concat sizes the array exactly (a spread literal reserves room to grow, kept per child)
  const spawnargs = [argv0 ?? program].concat(programArgs)
  return {
    file: program,
    spawnargs,
    native: {
      file: program,
      argv: spawnargs,
      env: envPairs(opts.env),
      cwd,
      stdio: stdioCodes(opts.stdio),
      detached,
      processGroup,
      uid,
      gid,
    },
    killSignal,
    timeout,
    signal: opts.signal as AbortSignal | undefined,
  }
}

const onExit = Symbol('onExit')

/**
 * Settles a subprocess's `exited` from the waiter on its own handle: an object with prototype
 * methods, so a live child holds no closures for it.
 */
class ExitedWaiter implements Waiter {
  constructor(
    private readonly sub: Subprocess,
    private readonly fulfil: (exit: ExitInfo) => void,
    private readonly fail: (err: unknown) => void,
  ) {}

  resolve(exit: ExitInfo): void {
    // A throwing 'exit' listener throws out of here, uncaught, as it would from a
    // ChildProcess; `exited` settles all the same.
    try {
      this.sub[onExit](exit)
    } finally {
      this.fulfil(exit)
    }
  }

  reject(err: unknown): void {
    // A rejection nobody awaits must not crash the process; awaiting callers still see it.
    this.sub.exited.catch(() => {})
    this.fail(err)
  }
}

/**
 * A process started by spawn(): a ChildProcess look-alike ('spawn', 'exit', 'close', 'error';
 * pid, exitCode, signalCode, killed, stdio, kill, ref, unref) whose exit also comes with its
 * resource usage. This package is its only reaper.
 */
export class Subprocess extends EventEmitter {
  /** undefined when the program could not be started ('error' says why). */
  readonly pid: number | undefined
  readonly stdin: Writable | null
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  /** Every child descriptor: a Socket where it is a pipe, null elsewhere. */
  readonly stdio: Array<Socket | null>
  /** Resolves with the exit (`rusage` is never null here); rejects if the spawn failed. */
  readonly exited: Promise<ExitInfo>
  readonly spawnfile: string
  readonly spawnargs: string[]
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  /** Whether kill() delivered a signal. */
  killed = false
  /** Never: there is no IPC channel. */
  readonly connected = false
  readonly #own: AsyncPidFd
  #pidfd: AsyncPidFd | null = null
  #exit: ExitInfo | null = null
  #openStreams = 0
  /** 'close' was emitted. */
  #closed = false
  /** Undoes the timeout and AbortSignal of the options, if any. */
  #cleanup: Array<() => void> | null = null

  /** @internal */
  constructor(resolved: Resolved, native: NativePidFd | null, spawnError: (Error & { errno?: number }) | null) {
    super()
    this.spawnfile = resolved.file
    this.spawnargs = resolved.spawnargs
    const fds = native ? native.takeStdio() : resolved.native.stdio.map((code) => (code === PIPE ? -2 : -1))
    this.stdio = fds.map((fd, i) => {
      if (fd === -1) return null
      // A failed spawn still gets its pipes (closed at once), as child_process gives them.
      const socket = fd >= 0 ? new Socket({ fd, readable: i !== 0, writable: i === 0 || i > 2 }) : new Socket()
      this.#openStreams++
      socket.once('close', () => {
        this.#openStreams--
        this.#maybeClose()
      })
      return socket
    })
    this.stdin = this.stdio[0] ?? null
    this.stdout = this.stdio[1] ?? null
    this.stderr = this.stdio[2] ?? null

    if (native === null || spawnError !== null) {
      this.pid = undefined
      this.#own = AsyncPidFd.failed(spawnError ?? new Error('spawn failed'))
      this.#pidfd = this.#own
      this.exitCode = spawnError?.errno ?? -1
      this.exited = this.#own.wait()
      this.exited.catch(() => {})
      process.nextTick(() => this.emit('error', spawnError))
      // 'close' follows in a later turn, as child_process's does (after its handle closes).
      setImmediate(() => {
        for (const s of this.stdio) s?.destroy()
        this.#maybeClose()
      })
      return
    }

    this.pid = native.pid
    this.#own = AsyncPidFd.fromNative(native)
    let settle!: ExitedWaiter
    this.exited = new Promise<ExitInfo>((resolve, reject) => {
      settle = new ExitedWaiter(this, resolve, reject)
    })
    this.#own.listen(settle)
    process.nextTick(() => this.#emitSpawn())
    this.#arm(resolved)
  }

  #spawned = false

  /**
   * A handle on the child's pidfd, open from its birth (info(), namespace(), getFd(), wait());
   * closing it does not stop the package reaping the child. Asked for before the exit, it keeps
   * the descriptor open until closed; asked for after it, it holds the exit record and no
   * descriptor (the subprocess closes its own at the exit, as the process is gone).
   */
  get pidfd(): AsyncPidFd {
    const own = this.#own
    return (this.#pidfd ??= this.#exit
      ? AsyncPidFd.ofExit(own.pid, this.#exit)
      : AsyncPidFd.fromNative(callNative(() => own.shareNative())))
  }

  /** 'spawn' comes first, even when the exit is known before the next tick. */
  #emitSpawn(): void {
    if (this.#spawned) return
    this.#spawned = true
    this.emit('spawn')
  }

  /** The timeout and the AbortSignal of the spawn options. */
  #arm({ timeout, signal, killSignal }: Resolved): void {
    if (timeout !== undefined) {
      const timer = setTimeout(() => {
        try {
          this.kill(killSignal)
        } catch (err) {
          this.emit('error', err)
        }
      }, timeout)
      ;(this.#cleanup ??= []).push(() => clearTimeout(timer))
    }
    if (signal !== undefined) {
      const onAbort = () => {
        try {
          if (this.kill(killSignal)) this.emit('error', abortError(signal.reason))
        } catch (err) {
          this.emit('error', err)
        }
      }
      if (signal.aborted) process.nextTick(onAbort)
      else {
        signal.addEventListener('abort', onAbort, { once: true })
        ;(this.#cleanup ??= []).push(() => signal.removeEventListener('abort', onAbort))
      }
    }
  }

  /** @internal */
  [onExit](exit: ExitInfo): void {
    this.#emitSpawn()
    this.#exit = exit
    this.#own.close()
    const cleanup = this.#cleanup
    this.#cleanup = null
    for (const undo of cleanup ?? []) undo()
    this.exitCode = exit.code
    this.signalCode = exit.signal
    // As child_process: stdin is done with, and output nobody reads is drained so 'close' comes.
    this.stdin?.destroy()
    for (const s of this.stdio) {
      if (s && s !== this.stdin && s.readable && s.readableFlowing === null) s.resume()
    }
    this.emit('exit', exit.code, exit.signal)
    this.#maybeClose()
  }

  #maybeClose(): void {
    if (this.#openStreams > 0) return
    if (this.#exit) {
      if (this.#closed) return
      this.#closed = true
      this.emit('close', this.exitCode, this.signalCode)
    } else if (this.pid === undefined && !this.#closed) {
      this.#closed = true
      this.emit('close', this.exitCode, null)
    }
  }

  /**
   * Sends a signal (default 'SIGTERM') through the pidfd; false once the process is gone, as
   * ChildProcess.kill. Unknown signals throw ERR_UNKNOWN_SIGNAL.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = toSignalNumber(signal)
    if (this.pid === undefined || this.#exit) return false
    try {
      this.#own.kill(number)
      this.killed = true
      return true
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (code === 'ESRCH' || code === 'ERR_PIDFD_CLOSED') return false
      if (code === 'EINVAL' || code === 'ENOSYS') throw err
      this.emit('error', err)
      return false
    }
  }

  /**
   * Sends a signal (default 'SIGTERM') to the process group the child leads (spawned with
   * `processGroup: true` or `detached: true`): the child and what it started in its group.
   * False once the child has exited, as kill().
   */
  killGroup(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = toSignalNumber(signal)
    if (this.pid === undefined || this.#exit) return false
    try {
      this.#own.killGroup(number)
      this.killed = true
      return true
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ESRCH') return false
      throw err
    }
  }

  /** The child's resource usage, process.resourceUsage()'s shape (maxRSS in KiB); undefined before it exits. */
  resourceUsage(): ResourceUsage | undefined {
    return this.#exit?.rusage ?? undefined
  }

  /** Keep the event loop alive while the child runs (the default). */
  ref(): this {
    this.#own.ref()
    return this
  }

  /** Let the event loop end while the child runs (its stdio pipes still count). */
  unref(): this {
    this.#own.unref()
    return this
  }

  /** As ChildProcess: kills the child with SIGTERM unless it was killed already. */
  [Symbol.dispose](): void {
    if (!this.killed) this.kill()
  }
}

/**
 * Starts `file` (searched in the child's PATH) with `args`, as child_process.spawn does. A
 * program that cannot be started (ENOENT, EACCES, …) is reported through 'error', as
 * child_process reports it; bad arguments throw.
 */
export function spawn(file: string, options?: SpawnOptions): Subprocess
export function spawn(file: string, args?: readonly string[], options?: SpawnOptions): Subprocess
export function spawn(file: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): Subprocess {
  if (args !== undefined && args !== null && !Array.isArray(args) && typeof args === 'object') {
    options = args as SpawnOptions
    args = []
  }
  const resolved = resolve(file, args ?? [], options)
  try {
    return new Subprocess(resolved, binding.spawn(resolved.native), null)
  } catch (raw) {
    const err = fromNative(raw) as Error & { code?: string; syscall?: string; errno?: number }
    if (err.syscall !== 'spawn' || !ASYNC_ERRORS.has(err.code ?? '')) throw err
    // As child_process names it: syscall "spawn <file>", with path and spawnargs, and the same
    // message (a failed chdir is ENOENT there too). What failed before the exec, where it was
    // not the exec itself, stays on the error as `step` ('chdir', 'setuid', ...).
    const step = /\((\w+) failed in the child\)$/.exec(err.message)?.[1]
    err.message = `spawn ${resolved.file} ${err.code}`
    Object.assign(err, { syscall: `spawn ${resolved.file}`, path: resolved.file, spawnargs: resolved.spawnargs.slice(1) })
    if (step) Object.assign(err, { step })
    return new Subprocess(resolved, null, err)
  }
}
