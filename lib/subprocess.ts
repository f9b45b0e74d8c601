// spawn(): a drop-in for child_process.spawn whose children this package starts through its
// spawn helper, reaps itself, and so always has the rusage of.

import {
  ChildProcess,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
  type SpawnOptions as NodeSpawnOptions,
  type SpawnOptionsWithStdioTuple,
  type SpawnOptionsWithoutStdio,
  type StdioNull,
  type StdioPipe,
} from 'node:child_process'
import { AsyncResource } from 'node:async_hooks'
import { EventEmitter } from 'node:events'
import { Socket } from 'node:net'
import type { Readable, Stream, Writable } from 'node:stream'

import { binding, type NativePidFd } from './native.js'
import { abortError, callNative, fromNative, invalidArgType, invalidArgValue } from './errors.js'
import type { ExitInfo, ResourceUsage } from './exit.js'
import { type Channel, type ChannelTarget, channelSocket, setupChannel, type Serialization } from './ipc.js'
import { checkBoolean, checkKillSignal, checkTimeout, envPairs, normalizeSpawnArguments, PIPE, PIPE_BUFFER, stdioCodes } from './normalize.js'
import { AsyncPidFd, getChannel, kOwnChild, type OwnChild, type Waiter } from './pidfd.js'
import { SIGTERM, toChildSignal } from './signals.js'
import { traceExit, traceStart, type TraceStart } from './trace.js'

/** The exit record of a child this package spawned and reaped: its usage is always there. */
export type SpawnedExit = ExitInfo & { readonly rusage: ResourceUsage }

export type StdioKind = 'pipe' | 'overlapped' | 'inherit' | 'ignore'
export type StdioEntry = StdioKind | number | Stream | null | undefined

/** What this package's spawn takes beyond child_process's options. */
export interface SpawnExtras {
  /**
   * Make the child the leader of a new process group (setpgid), in this session: `killGroup()`
   * then reaches everything it starts that stays in its group. Not a child_process option.
   */
  processGroup?: boolean | undefined
  /**
   * Start the child in this cgroup v2 directory (a path, or a `Cgroup`): it runs nothing outside
   * it (clone3's CLONE_INTO_CGROUP, else it writes itself into `cgroup.procs` before exec). Needs
   * the spawn helper. Not a child_process option.
   */
  cgroup?: string | { readonly path: string } | undefined
  /**
   * If this process dies while the child runs (SIGKILL, a crash, the OOM killer), the child gets
   * SIGKILL, and so does its process group where it leads one (`processGroup` or `detached`): a
   * small guard process that outlives this one sends it. Not a child_process option.
   */
  guard?: boolean | undefined
}

/** child_process.spawn's options (the same type), `processGroup`, `cgroup` and `guard`. */
export interface SpawnOptions extends NodeSpawnOptions, SpawnExtras {
  /** Working directory of the child (default: this process's, at the time of the call). */
  cwd?: string | URL | undefined
  /** Environment of the child (default `process.env`); undefined values are left out. */
  env?: NodeJS.ProcessEnv | undefined
  /** The child's argv[0] (default: `file`). */
  argv0?: string | undefined
  /**
   * One kind for 0–2, or an entry per child descriptor: a kind, a descriptor or a stream of
   * ours. `'ipc'` is refused: there is no IPC channel yet.
   */
  stdio?: NodeSpawnOptions['stdio']
  /** Make the child the leader of a new session (setsid). */
  detached?: boolean | undefined
  uid?: number | undefined
  gid?: number | undefined
  /** Run `file` and `args`, joined by spaces, with `/bin/sh -c` (or the shell named). */
  shell?: boolean | string | undefined
  /** Aborting kills the child with `killSignal` and emits an AbortError. */
  signal?: AbortSignal | undefined
  /** Kill the child with `killSignal` after this many milliseconds. */
  timeout?: number | undefined
  /** Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number | undefined
  /** Windows only; accepted and ignored, as child_process does on Linux. */
  windowsHide?: boolean | undefined
  windowsVerbatimArguments?: boolean | undefined
}

/** Spawn errors child_process reports through 'error': their message is exactly Node's. */
const ASYNC_ERRORS = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT'])
/**
 * The system error that is the caller's argument, thrown as child_process throws it: a stdio
 * entry naming no open descriptor. Every other error the OS, the spawn helper or a deadline
 * gives is emitted as 'error' (child_process throws some, E2BIG or ENOMEM: an app written for
 * it handles 'error' alone).
 */
const THROWN_ERRORS = new Set(['EBADF'])

interface Resolved {
  file: string
  spawnargs: string[]
  native: Parameters<typeof binding.spawn>[0]
  killSignal: number
  timeout: number | undefined
  signal: AbortSignal | undefined
  /** Streams of ours that became the child's descriptors: no longer read here. */
  handedOver: Stream[]
  /** The index of the 'ipc' entry, if any. */
  ipc: number | undefined
  serialization: Serialization
  /** options.guard: a guard sets off at this process's death while the child runs. */
  guard: boolean
}

/**
 * The child's environment with its end of the IPC channel named in it, as child_process names
 * it (NODE_CHANNEL_FD, NODE_CHANNEL_SERIALIZATION_MODE; the same names given in `env` are
 * replaced).
 */
function withChannel(pairs: string[] | undefined, ipc: number, serialization: Serialization): string[] {
  const base = pairs ?? envPairs({ ...process.env })!
  return base
    .filter((pair) => !pair.startsWith('NODE_CHANNEL_FD=') && !pair.startsWith('NODE_CHANNEL_SERIALIZATION_MODE='))
    .concat(`NODE_CHANNEL_FD=${ipc}`, `NODE_CHANNEL_SERIALIZATION_MODE=${serialization}`)
}

/** Reads `spawn(file, args, options)` as child_process does: the same coercions and errors. */
function resolve(fileArg: unknown, argsArg: unknown, optionsArg: unknown): Resolved {
  const { file, spawnargs, opts, cwd, detached, processGroup, uid, gid, cgroup } = normalizeSpawnArguments(fileArg, argsArg, optionsArg, false)

  // spawn()'s own checks, in child_process's order.
  const timeout = checkTimeout(opts.timeout)
  const signal = opts.signal
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw invalidArgType('options.signal', 'AbortSignal', signal)
  }
  const killSignal = checkKillSignal(opts.killSignal) ?? SIGTERM
  const guard = checkBoolean('options.guard', opts.guard) ?? false

  const { codes, handedOver, ipc } = stdioCodes(opts.stdio)
  // Checked as child_process checks it, with or without an IPC channel.
  const serializationOption = opts.serialization
  if (serializationOption !== undefined && serializationOption !== 'json' && serializationOption !== 'advanced') {
    throw invalidArgValue('options.serialization', serializationOption, "must be one of: undefined, 'json', 'advanced'")
  }
  const serialization: Serialization = serializationOption ?? 'json'
  const env = envPairs(opts.env)
  return {
    file,
    spawnargs,
    native: {
      file,
      argv: spawnargs,
      env: ipc === undefined ? env : withChannel(env, ipc, serialization),
      cwd,
      stdio: codes,
      detached,
      processGroup,
      uid,
      gid,
      cgroup,
      pipeBuffer: PIPE_BUFFER,
    },
    killSignal,
    timeout,
    signal: signal as AbortSignal | undefined,
    handedOver,
    ipc,
    serialization,
    guard,
  }
}

const onExit = Symbol('onExit')

/**
 * Whether a net.Socket must be given its descriptor by `connect({ fd })`, as under Bun. Bun's
 * net.Socket constructor never reads a descriptor it is given (it makes no handle, so 'data',
 * 'end' and 'close' never come; a writable one is written with blocking synchronous writes),
 * and its loop is not libuv's, so there is no Pipe handle to make one with: Bun adopts a
 * descriptor in `connect({ fd })`, which Node's connect does not take. Asked of the runtime
 * rather than probed: a probing constructor would already act on a descriptor (Node makes a
 * Pipe handle of it). Node, and Deno (whose constructor takes it), keep the constructor.
 */
const connectsDescriptors = process.versions.bun !== undefined

/** Our end of a 'pipe' (one end of a socket pair) as the stream the child's stdio entry is. */
function pipeSocket(fd: number, readable: boolean, writable: boolean): Socket {
  if (!connectsDescriptors) return new Socket({ fd, readable, writable })
  const socket = new Socket({ readable, writable })
  ;(socket as unknown as { connect(options: { fd: number }): Socket }).connect({ fd })
  return socket
}

/** Marks a stream of ours that became a child's descriptor: its own child's drain skips it. */
const kUsedAsStdio = Symbol('kUsedAsStdio')

/** A pipe someone reads: flowing, or with a 'data' or 'readable' listener (an async iterator). */
function beingRead(s: Socket): boolean {
  return s.readableFlowing === true || s.listenerCount('data') > 0 || s.listenerCount('readable') > 0
}

/** A pipe of ours that the drain at the child's exit reads to its end. */
function flushable(s: Socket | null): s is Socket {
  return s !== null && s.readable && !(s as { [kUsedAsStdio]?: boolean })[kUsedAsStdio]
}

/**
 * As child_process does with a stream it hands to a child: this process stops reading it, or it
 * would race the child for the data (and the drain at its own child's exit would throw data
 * away).
 */
function stopReading(stream: Stream): void {
  const s = stream as Stream & {
    handle?: { reading?: boolean; readStop?: () => void }
    _handle?: { reading?: boolean; readStop?: () => void }
    pause?: () => void
    _readableState?: { reading: boolean; flowing: boolean | null }
    [kUsedAsStdio]?: boolean
  }
  const handle = s.handle ?? s._handle
  if (handle) {
    handle.reading = false
    handle.readStop?.()
  }
  s.pause?.()
  if (s._readableState) {
    s._readableState.flowing = false
    s._readableState.reading = false
  }
  s[kUsedAsStdio] = true
}

const settleExited = Symbol('settleExited')
const asyncScope = Symbol('asyncScope')
const readingPipes = Symbol('readingPipes')

/**
 * Tells a subprocess its exit from the waiter on its own handle: an object with one field and
 * prototype methods, so a live child holds no closures for it.
 */
class ExitedWaiter implements Waiter {
  constructor(private readonly sub: Subprocess) {}

  resolve(exit: ExitInfo): void {
    // The child closed its pipes before the kernel told of its exit, so their ends are already
    // waiting to be read. While a pipe of ours is still open, 'exit' comes after the event
    // loop's next I/O phase has read them (an immediate from this I/O phase runs before it;
    // one set from that immediate, after it), as child_process's 'exit' comes after them: the
    // drain at the exit then never takes bytes that a reader, moving on at a pipe's end,
    // would have read. The same holds for an IPC channel still open: the child's death closed
    // its end first, so the channel's last messages and its 'disconnect' come before 'exit',
    // as child_process's do (a write to the child then under way is called back between them).
    if (this.sub[readingPipes]() || this.sub.channel) setImmediate(() => setImmediate(() => this.deliver(exit)))
    else this.deliver(exit)
  }

  private deliver(exit: ExitInfo): void {
    // In the async context of the spawn, as a ChildProcess's 'exit' comes in its handle's: a
    // throwing 'exit' listener's error is uncaught there (node:test fails the test that spawned,
    // not whichever made this environment's channel), and `exited` settles all the same.
    this.sub[asyncScope].runInAsyncScope(() => {
      try {
        this.sub[onExit](exit)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      } finally {
        this.sub[settleExited](exit, null)
      }
    })
  }

  reject(err: unknown): void {
    this.sub[settleExited](null, err)
  }
}

/**
 * A process started by spawn(): a ChildProcess look-alike ('spawn', 'exit', 'close', 'error';
 * pid, exitCode, signalCode, killed, stdio, kill, ref, unref) whose exit also comes with its
 * resource usage. This package is its only reaper.
 */
/**
 * The base Subprocess is typed with: an EventEmitter at run time (ChildProcess's own constructor
 * must not run, see below), a ChildProcess to the type checker, so a Subprocess goes wherever
 * one is expected. As for Node's own children without an IPC channel, `send` and `disconnect`
 * are declared there and absent here.
 */
const ChildProcessBase = EventEmitter as unknown as new () => ChildProcess

export class Subprocess extends ChildProcessBase {
  /** undefined when the program could not be started ('error' says why). */
  override readonly pid: number | undefined
  override readonly stdin: Writable | null
  override readonly stdout: Readable | null
  override readonly stderr: Readable | null
  /** Every child descriptor: a Socket where it is a pipe, null elsewhere (typed as Node types it). */
  override readonly stdio: ChildProcess['stdio']
  /**
   * How the child went into the cgroup of `options.cgroup`: 'CLONE_INTO_CGROUP' (made there) or
   * 'cgroup.procs' (it moved itself before exec); null without that option or a child (or where
   * the spawn helper died before it said which: the child is in the cgroup all the same).
   */
  readonly cgroupVia: 'CLONE_INTO_CGROUP' | 'cgroup.procs' | null
  override readonly spawnfile: string
  override readonly spawnargs: string[]
  override exitCode: number | null = null
  override signalCode: NodeJS.Signals | null = null
  /** Whether kill() delivered a signal. */
  override killed = false
  /** Whether send() can be called: an IPC channel was asked for and is not disconnected yet. */
  override connected = false
  /**
   * The IPC channel ('ipc' in stdio, or fork()): ref()/unref() and its descriptor (`fd`); null
   * once disconnected, undefined without one.
   */
  declare readonly channel?: Channel | null
  readonly #own: AsyncPidFd
  /** @internal The async context of the spawn call, where 'exit' is emitted. */
  readonly [asyncScope] = new AsyncResource('PIDFDCHILD')
  #pidfd: AsyncPidFd | null = null
  #exit: ExitInfo | null = null
  #openStreams = 0
  /** 'close' was emitted. */
  #closed = false
  /** Undoes the timeout and AbortSignal of the options, if any. */
  #cleanup: Array<() => void> | null = null

  /** @internal */
  constructor(resolved: Resolved, native: NativePidFd | null, spawnError: (Error & { errno?: number; code?: string }) | null) {
    super()
    // EventEmitter gives every emitter a listener table at once, an object without a prototype
    // (a dictionary, about 270 bytes): a child nobody listens to keeps none, and the first
    // listener makes it, as EventEmitter does for an emitter whose table is undefined.
    ;(this as unknown as { _events: unknown })._events = undefined
    this.spawnfile = resolved.file
    this.spawnargs = resolved.spawnargs
    this.cgroupVia = (native?.cgroupVia ?? null) as Subprocess['cgroupVia']
    // As child_process: out of descriptors, a failed child gets no stdio at all (undefined).
    const noStdio = spawnError !== null && (spawnError.code === 'EMFILE' || spawnError.code === 'ENFILE')
    if (noStdio) {
      this.stdio = undefined as unknown as Subprocess['stdio']
      this.stdin = this.stdout = this.stderr = undefined as unknown as null
    } else {
      for (const stream of resolved.handedOver) stopReading(stream)
      const fds = native ? native.takeStdio() : resolved.native.stdio.map((code) => (code === PIPE ? -2 : -1))
      let channel: Socket | null | undefined
      this.#pipes = fds.map((fd, i): Socket | null => {
        if (fd === -1) return null
        if (i === resolved.ipc) {
          // The IPC channel is no stdio stream (null in stdio, as child_process has it).
          channel = fd >= 0 ? channelSocket(fd) : null
          return null
        }
        // A pipe is one end of a socket pair: stdout and stderr are writable too, as
        // child_process's are. A failed spawn still gets its pipes, with nothing behind them, as
        // child_process's has.
        const socket = fd >= 0 ? pipeSocket(fd, i !== 0, true) : new Socket({ readable: i > 0 })
        // 'close' waits for every descriptor but stdin to close, as child_process's does.
        if (i > 0) {
          this.#openStreams++
          socket.once('close', () => {
            this.#openStreams--
            this.#maybeClose()
          })
        }
        return socket
      })
      // The same array: Node types it as a tuple of five, as it types its own.
      this.stdio = this.#pipes as unknown as Subprocess['stdio']
      this.stdin = this.#pipes[0] ?? null
      this.stdout = this.#pipes[1] ?? null
      this.stderr = this.#pipes[2] ?? null
      if (channel !== undefined) {
        // 'close' waits for the channel too.
        this.#openStreams++
        setupChannel(this as unknown as ChannelTarget, channel, resolved.serialization, () => {
          this.#openStreams--
          this.#maybeClose()
        })
      }
    }

    if (native === null) {
      this.pid = undefined
      this.#spawnError = spawnError
      this.#own = AsyncPidFd.failed(spawnError ?? new Error('spawn failed'))
      this.#pidfd = this.#own
      process.nextTick(() => {
        this.exitCode = spawnError?.errno ?? -1
        this.#failed = true
        this.stdin?.destroy()
        this.emit('error', spawnError)
        process.nextTick(() => this.#flush())
        this.#maybeClose()
      })
      return
    }

    this.pid = native.pid
    this.#trace = traceStart(resolved.file, resolved.spawnargs, resolved.native.cwd ?? undefined)
    this.#own = AsyncPidFd.fromNative(native)
    this.#own.listen(new ExitedWaiter(this))
    process.nextTick(() => this.#emitSpawn())
    this.#arm(resolved)
    if (resolved.guard) this.#guardChild(native, resolved.native.processGroup || resolved.native.detached)
  }

  /**
   * options.guard: a guard that ends the child (and the group it leads) if this process dies
   * first, released at the child's exit. One that cannot start (no spawn helper program here, a
   * shortage) leaves the child unguarded; `guarded` says which.
   */
  #guardChild(native: NativePidFd, leadsGroup: boolean): void {
    try {
      const guard = native.guard(leadsGroup ? native.pid : 0)
      ;(this.#cleanup ??= []).push(() => guard.release())
      this.#guarded = true
    } catch {
      // unguarded, as `guarded` says
    }
  }

  #guarded = false
  /** Whether a guard ends this child if this process dies first (options.guard). */
  get guarded(): boolean {
    return this.#guarded
  }

  /** `exited`, made when first read: a child whose exit nobody awaits holds no promise. */
  #exited: Promise<SpawnedExit> | null = null
  /** Settles `#exited` where it was made before the exit was known. */
  #settle: { resolve(exit: SpawnedExit): void; reject(err: unknown): void } | null = null
  /** The wait on the child's own handle failed (its pidfd could not be watched). */
  #waitError: { error: unknown } | null = null

  /**
   * Settles with the exit record, whose `rusage` is never null (this package reaps the child);
   * rejects with the spawn error. The same promise at every reading.
   */
  get exited(): Promise<SpawnedExit> {
    if (this.#exited) return this.#exited
    let made: Promise<SpawnedExit>
    // The package reaps its own children with waitid, which always fills the rusage.
    if (this.#exit) made = Promise.resolve(this.#exit as SpawnedExit)
    else {
      if (this.pid === undefined) made = this.#own.wait() as Promise<SpawnedExit>
      else if (this.#waitError) made = Promise.reject(this.#waitError.error)
      else made = new Promise<SpawnedExit>((resolve, reject) => (this.#settle = { resolve, reject }))
      // A rejection nobody awaits must not crash the process; awaiting callers still see it.
      made.catch(() => {})
    }
    return (this.#exited = made)
  }

  /** @internal Whether a pipe of ours from the child has not ended yet. */
  [readingPipes](): boolean {
    return this.#pipes.some((s) => flushable(s) && !s.readableEnded)
  }

  /** @internal The wait on the child's own handle ended: with its exit, or with `err`. */
  [settleExited](exit: ExitInfo | null, err: unknown): void {
    const settle = this.#settle
    this.#settle = null
    if (exit) settle?.resolve(exit as SpawnedExit)
    else {
      this.#waitError = { error: err }
      settle?.reject(err)
    }
  }

  /** Where PIDFD_TRACE wants this child's line at its exit, if it does. */
  #trace: TraceStart | null = null
  /** The stdio entries, as they are (`stdio` is typed as Node types it). */
  #pipes: Array<Socket | null> = []
  #spawnError: Error | null = null
  /** The spawn failed and its 'error' was emitted. */
  #failed = false

  /**
   * As child_process once the child is done: output nobody consumed is read to its end, so
   * 'close' comes (a stream even paused on purpose is resumed). A stream handed to another child
   * is left alone. A failed child's pipes have nothing behind them: they just end.
   *
   * Unlike child_process, the drain waits while another pipe is still being read: a reader that
   * drains stderr first and only then turns to stdout (tinyexec) finds stdout's bytes still
   * there, instead of read into nothing. 'close' waits for every pipe's end anyway, so this
   * delays nothing.
   */
  #flush(): void {
    if (this.#failed) {
      for (const s of this.#pipes) {
        if (!flushable(s)) continue
        // Their end comes from the event loop, as the end of child_process's unopened pipes
        // does: after whatever the code that saw 'error' does next.
        s.once('end', () => s.destroy())
        setImmediate(() => s.push(null))
        s.resume()
      }
      return
    }
    const reading = this.#pipes.filter((s): s is Socket => flushable(s) && !s.readableEnded && beingRead(s))
    if (reading.length > 0) {
      // Once one ends, and the code that reads it moved on (its promise reactions, its ticks),
      // look again.
      let again = false
      const later = () => {
        if (again) return
        again = true
        setImmediate(() => this.#flush())
      }
      for (const s of reading) {
        s.once('end', later)
        s.once('close', later)
      }
      return
    }
    for (const s of this.#pipes) if (flushable(s)) s.resume()
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

  /** @internal For fromChild() on this package's own child: the full record, or a second handle. */
  [kOwnChild](): OwnChild {
    if (this.#exit) return { exit: this.#exit }
    if (this.pid === undefined) return { error: this.#spawnError ?? new Error('spawn failed') }
    const own = this.#own
    return { native: callNative(() => own.shareNative()) }
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
    if (this.#trace) traceExit(this.#trace, this.pid!, exit)
    this.#own.close()
    const cleanup = this.#cleanup
    this.#cleanup = null
    for (const undo of cleanup ?? []) undo()
    this.exitCode = exit.code
    this.signalCode = exit.signal
    // As child_process: stdin is done with; 'exit'; then, a tick later (the last chance to start
    // reading), output nobody reads is drained so that 'close' comes.
    this.stdin?.destroy()
    this.emit('exit', exit.code, exit.signal)
    // No tick where there is nothing to drain (no pipe of ours): the exit's promise reactions
    // then follow at once.
    if (this.#pipes.some(flushable)) process.nextTick(() => this.#flush())
    this.#maybeClose()
  }

  #maybeClose(): void {
    if (this.#openStreams > 0 || this.#closed || !(this.#exit || this.#failed)) return
    this.#closed = true
    this.emit('close', this.exitCode, this.signalCode)
  }

  /**
   * Sends a signal (default 'SIGTERM') through the pidfd; false once the process is gone, as
   * ChildProcess.kill. Unknown signals throw ERR_UNKNOWN_SIGNAL.
   */
  override kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.#signal(signal, (own, number) => own.kill(number))
  }

  /**
   * Sends a signal (default 'SIGTERM') to the process group the child leads (spawned with
   * `processGroup: true` or `detached: true`): the child and what it started in its group.
   * False once the child has exited; errors as kill()'s.
   */
  killGroup(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.#signal(signal, (own, number) => own.killGroup(number))
  }

  /**
   * ChildProcess.kill's rules: the signal read as it reads one (0 probes; a name in any case),
   * ESRCH is false, EINVAL and ENOSYS throw, anything else is 'error'.
   */
  #signal(signal: NodeJS.Signals | number, send: (own: AsyncPidFd, number: number) => void): boolean {
    const number = signal === 0 ? 0 : toChildSignal(signal)
    if (this.pid === undefined || this.#exit) return false
    try {
      send(this.#own, number)
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
   * The child's resource usage, process.resourceUsage()'s shape (maxRSS in KiB); undefined before
   * it exits. `null` where pidfd/child_process is Node's own (not Linux, no binary, Linux < 5.4).
   */
  resourceUsage(): ResourceUsage | null | undefined {
    return this.#exit?.rusage ?? undefined
  }

  /** Keep the event loop alive while the child runs (the default). */
  override ref(): this {
    this.#own.ref()
    return this
  }

  /** Let the event loop end while the child runs (its stdio pipes still count). */
  override unref(): this {
    this.#own.unref()
    return this
  }

  /** As ChildProcess: kills the child with SIGTERM unless it was killed already. */
  override [Symbol.dispose](): void {
    if (!this.killed) this.kill()
  }
}

// `sub instanceof ChildProcess` holds, as libraries check it. Only the instances' chain changes:
// ChildProcess's own constructor must not run (`super()` calls the class's parent as it is at
// that moment), as it would make a libuv process handle that this class never uses.
Object.setPrototypeOf(Subprocess.prototype, ChildProcess.prototype)

/**
 * Starts `file` (searched in the child's PATH) with `args`, as child_process.spawn does. A
 * program that cannot be started (ENOENT, EACCES, …) is reported through 'error', as
 * child_process reports it; bad arguments throw.
 */
type Tuple<I extends StdioNull | StdioPipe, O extends StdioNull | StdioPipe, E extends StdioNull | StdioPipe> = SpawnOptionsWithStdioTuple<I, O, E> &
  SpawnExtras
type By<I extends Writable | null, O extends Readable | null, E extends Readable | null> = Subprocess & ChildProcessByStdio<I, O, E>

// Typed as child_process.spawn is typed, overload for overload (the streams of the result follow
// the stdio option), with a Subprocess as the result. Written out: TypeScript relates overloads
// with their generics erased, so one generic signature could not stand for these.
export function spawn(file: string, options?: SpawnOptionsWithoutStdio & SpawnExtras): Subprocess & ChildProcessWithoutNullStreams
export function spawn(file: string, options: Tuple<StdioPipe, StdioPipe, StdioPipe>): By<Writable, Readable, Readable>
export function spawn(file: string, options: Tuple<StdioPipe, StdioPipe, StdioNull>): By<Writable, Readable, null>
export function spawn(file: string, options: Tuple<StdioPipe, StdioNull, StdioPipe>): By<Writable, null, Readable>
export function spawn(file: string, options: Tuple<StdioPipe, StdioNull, StdioNull>): By<Writable, null, null>
export function spawn(file: string, options: Tuple<StdioNull, StdioPipe, StdioPipe>): By<null, Readable, Readable>
export function spawn(file: string, options: Tuple<StdioNull, StdioPipe, StdioNull>): By<null, Readable, null>
export function spawn(file: string, options: Tuple<StdioNull, StdioNull, StdioPipe>): By<null, null, Readable>
export function spawn(file: string, options: Tuple<StdioNull, StdioNull, StdioNull>): By<null, null, null>
export function spawn(file: string, options: SpawnOptions): Subprocess
export function spawn(file: string, args?: readonly string[], options?: SpawnOptionsWithoutStdio & SpawnExtras): Subprocess & ChildProcessWithoutNullStreams
export function spawn(file: string, args: readonly string[], options: Tuple<StdioPipe, StdioPipe, StdioPipe>): By<Writable, Readable, Readable>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioPipe, StdioPipe, StdioNull>): By<Writable, Readable, null>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioPipe, StdioNull, StdioPipe>): By<Writable, null, Readable>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioPipe, StdioNull, StdioNull>): By<Writable, null, null>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioNull, StdioPipe, StdioPipe>): By<null, Readable, Readable>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioNull, StdioPipe, StdioNull>): By<null, Readable, null>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioNull, StdioNull, StdioPipe>): By<null, null, Readable>
export function spawn(file: string, args: readonly string[], options: Tuple<StdioNull, StdioNull, StdioNull>): By<null, null, null>
export function spawn(file: string, args: readonly string[], options: SpawnOptions): Subprocess
export function spawn(file: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): Subprocess {
  // spawn(file, options) is read as child_process reads it, by normalizeSpawnArguments.
  const resolved = resolve(file, args, options)
  try {
    return new Subprocess(resolved, binding.spawn(resolved.native, getChannel()), null)
  } catch (raw) {
    const err = fromNative(raw) as Error & { code?: string; syscall?: string; errno?: number }
    if (typeof err.errno !== 'number' || THROWN_ERRORS.has(err.code ?? '')) throw err
    // As child_process names it: syscall "spawn <file>", with path and spawnargs, and the same
    // message (a failed chdir is ENOENT there too). What failed before the exec, where it was
    // not the exec itself, stays on the error as `step` ('chdir', 'setuid', ...). An error
    // child_process does not emit keeps the package's detail in its message.
    const step = /\(([\w.]+) failed in the child\)$/.exec(err.message)?.[1]
    const detail = ASYNC_ERRORS.has(err.code ?? '') ? null : (/ \((.*)\)$/.exec(err.message)?.[1] ?? (err.syscall !== 'spawn' ? `${err.syscall} failed` : null))
    err.message = `spawn ${resolved.file} ${err.code}${detail ? ` (${detail})` : ''}`
    Object.assign(err, { syscall: `spawn ${resolved.file}`, path: resolved.file, spawnargs: resolved.spawnargs.slice(1) })
    if (step) Object.assign(err, { step })
    return new Subprocess(resolved, null, err)
  }
}
