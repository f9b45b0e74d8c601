// spawnSync, execSync and execFileSync: child_process's synchronous functions, with the child
// started through this package's spawn helper (its maxRSS is its own) and its exit's resource
// usage in the result. The native side (src/sync.rs) feeds the input, drains the pipes, enforces
// the timeout and maxBuffer and waits, on this thread: the event loop does not run meanwhile, as
// with child_process.

import { binding } from './native.js'
import { callNative, errnoName, invalidArgType } from './errors.js'
import { toExitInfo, type ResourceUsage } from './exit.js'
import {
  checkKillSignal,
  checkMaxBuffer,
  checkString,
  checkTimeout,
  envPairs,
  NODE_MAJOR,
  normalizeSpawnArguments,
  PIPE,
  stdioCodes,
} from './normalize.js'
import { signalName } from './signals.js'
import type { StdioEntry, StdioKind } from './subprocess.js'

/** child_process's default maxBuffer for the synchronous functions: 1 MiB. */
const MAX_BUFFER = 1024 * 1024

export interface SpawnSyncOptions {
  /** Working directory of the child (default: this process's). */
  cwd?: string | URL
  /** Written to the child's stdin pipe (when stdin is a pipe), which then closes. */
  input?: string | NodeJS.ArrayBufferView
  /** The child's argv[0] (default: `file`). */
  argv0?: string
  /** As spawn's; a pipe on stdout, stderr or a later descriptor is read into `output`. */
  stdio?: StdioKind | StdioEntry[]
  /** Environment of the child (default `process.env`); undefined values are left out. */
  env?: NodeJS.ProcessEnv | Record<string, string | undefined>
  uid?: number
  gid?: number
  /** Kill the child with `killSignal` after this many milliseconds (error ETIMEDOUT). */
  timeout?: number
  /** Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number
  /** Most bytes the pipes may give in all before the child is killed (error ENOBUFS); default 1 MiB, 0 or Infinity: no limit. */
  maxBuffer?: number
  /** Decode the output with this encoding (default 'buffer': Buffers). */
  encoding?: BufferEncoding | 'buffer' | null
  /** Run `file` and `args`, joined by spaces, with `/bin/sh -c` (or the shell named). */
  shell?: boolean | string
  /** Make the child the leader of a new session (setsid). */
  detached?: boolean
  /** Make the child the leader of a new process group (not a child_process option). */
  processGroup?: boolean
  /** Windows only; accepted and ignored, as child_process does on Linux. */
  windowsHide?: boolean
  windowsVerbatimArguments?: boolean
}
export interface SpawnSyncOptionsWithStringEncoding extends SpawnSyncOptions {
  encoding: BufferEncoding
}
export interface SpawnSyncOptionsWithBufferEncoding extends SpawnSyncOptions {
  encoding?: 'buffer' | null
}

/** child_process's spawnSync result, plus the child's resource usage. */
export interface SpawnSyncReturns<T> {
  /** 0 when the program could not be started. */
  pid: number
  /** Per child descriptor, what it wrote into its pipe (null for stdin and non-pipes); null when not started. */
  output: Array<T | null>
  stdout: T
  stderr: T
  /** The exit code; null when the child was killed by a signal, or not started. */
  status: number | null
  /** The signal that killed the child. */
  signal: NodeJS.Signals | null
  /** What went wrong: the spawn (ENOENT, …), the timeout (ETIMEDOUT), maxBuffer (ENOBUFS), the input (EPIPE). */
  error?: Error
  /**
   * process.resourceUsage()'s shape (maxRSS in KiB) for the child alone; null when it was not
   * started. Non-enumerable, so the result's keys and JSON are child_process's.
   */
  resourceUsage: ResourceUsage | null
}

export interface ExecSyncOptions extends Omit<SpawnSyncOptions, 'shell' | 'argv0'> {
  /** The shell to run the command with (default '/bin/sh'). */
  shell?: string
}
export interface ExecSyncOptionsWithStringEncoding extends ExecSyncOptions {
  encoding: BufferEncoding
}
export interface ExecSyncOptionsWithBufferEncoding extends ExecSyncOptions {
  encoding?: 'buffer' | null
}

export type ExecFileSyncOptions = SpawnSyncOptions
export interface ExecFileSyncOptionsWithStringEncoding extends ExecFileSyncOptions {
  encoding: BufferEncoding
}
export interface ExecFileSyncOptionsWithBufferEncoding extends ExecFileSyncOptions {
  encoding?: 'buffer' | null
}

/** What `withUsage` returns: the plain form's return value, and the child's resource usage. */
export interface WithUsage<T> {
  stdout: T
  resourceUsage: ResourceUsage
}

/** What the sync functions throw: child_process's error, plus the child's resource usage. */
export interface ExecSyncError extends Error {
  status: number | null
  signal: NodeJS.Signals | null
  output: Array<Buffer | string | null> | null
  pid: number
  stdout: Buffer | string
  stderr: Buffer | string
  resourceUsage: ResourceUsage | null
  code?: string
  errno?: number
  syscall?: string
  path?: string
  spawnargs?: string[]
}
// (On a thrown error too, resourceUsage is a non-enumerable own property.)

type Result = Record<string, unknown> & {
  error?: Error
  status: number | null
  stdout?: unknown
  stderr?: { length: number; toString(): string } | null
  resourceUsage: ResourceUsage | null
}

/** The error child_process puts in a spawnSync result (its ErrnoException). */
function syncError(errno: number, file: string, spawnargs: string[]): Error {
  const code = errnoName(errno)
  const syscall = `spawnSync ${file}`
  return Object.assign(new Error(`${syscall} ${code}`), { errno: -errno, code, syscall, path: file, spawnargs: spawnargs.slice(1) })
}

function spawnSyncImpl(fileArg: unknown, argsArg: unknown, optionsArg: unknown): Result {
  const { file, spawnargs, opts, cwd, detached, processGroup, uid, gid } = normalizeSpawnArguments(fileArg, argsArg, optionsArg)
  const env = envPairs(opts.env)
  // spawnSync's own checks, in child_process's order. An own maxBuffer, even undefined, replaces
  // the default (undefined then means no limit, as there).
  const timeout = checkTimeout(opts.timeout)
  const maxBuffer = checkMaxBuffer('maxBuffer' in opts ? opts.maxBuffer : MAX_BUFFER)
  const killSignal = checkKillSignal(opts.killSignal)
  const { codes } = stdioCodes(opts.stdio, true)
  const encoding = opts.encoding as BufferEncoding | 'buffer' | null | undefined

  // The input goes to descriptor 0, when that is a pipe; it is checked whatever stdin is.
  let input: Buffer | undefined
  const given = opts.input
  if (given) {
    let bytes: ArrayBufferView
    if (ArrayBuffer.isView(given)) bytes = given
    else if (typeof given === 'string') bytes = Buffer.from(given, encoding as BufferEncoding)
    else throw invalidArgType('options.stdio[0]', ['Buffer', 'TypedArray', 'DataView', 'string'], given)
    if (codes[0] === PIPE) input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  const native = callNative(() =>
    binding.spawnSync(
      { file, argv: spawnargs, env, cwd, stdio: codes, detached, processGroup, uid, gid },
      { timeout, maxBuffer, killSignal: killSignal ?? (checkKillSignal('SIGTERM') as number) },
      input,
    ),
  )

  // The keys in child_process's order: error (if any), status, signal, output, pid, stdout, stderr.
  const result = {} as Result
  if (native.errno !== undefined && native.errno !== null) result.error = undefined
  const exit = native.exit ? toExitInfo(native.exit) : null
  result.status = exit?.status === 'exited' ? exit.code : null
  // A signal Node has no name for (a real-time one) is '' there.
  result.signal = exit?.status === 'signaled' ? (exit.signalNumber === null ? null : (signalName(exit.signalNumber) ?? '')) : null
  let output: Array<Buffer | string | null> | null = exit && native.output ? native.output.map((o) => o ?? null) : null
  if (output && encoding && encoding !== 'buffer') output = output.map((o) => (o === null ? null : o.toString(encoding)))
  result.output = output
  result.pid = native.pid
  // Node 20 gives null where there is no output; later ones undefined.
  result.stdout = NODE_MAJOR >= 22 ? output?.[1] : output && output[1]
  result.stderr = (NODE_MAJOR >= 22 ? output?.[2] : output && output[2]) as Result['stderr']
  if ('error' in result) result.error = syncError(native.errno!, file, spawnargs)
  withResourceUsage(result, exit?.rusage ?? null)
  return result
}

/**
 * Adds `resourceUsage` as a non-enumerable own property: read like any other, while the
 * object's keys, its JSON and deep equality stay exactly child_process's (Node's own tests
 * compare the keys of a spawnSync result).
 */
function withResourceUsage<T extends object>(target: T, usage: ResourceUsage | null): T {
  return Object.defineProperty(target, 'resourceUsage', { value: usage, enumerable: false, writable: true, configurable: true })
}

/**
 * Runs `file` with `args` to its end, as child_process.spawnSync does (same options, same
 * result, same errors), with the child's `resourceUsage` in the result.
 */
export function spawnSync(file: string): SpawnSyncReturns<Buffer>
export function spawnSync(file: string, options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>
export function spawnSync(file: string, options: SpawnSyncOptionsWithBufferEncoding): SpawnSyncReturns<Buffer>
export function spawnSync(file: string, options?: SpawnSyncOptions): SpawnSyncReturns<string | Buffer>
export function spawnSync(file: string, args: readonly string[]): SpawnSyncReturns<Buffer>
export function spawnSync(file: string, args: readonly string[], options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>
export function spawnSync(file: string, args: readonly string[], options: SpawnSyncOptionsWithBufferEncoding): SpawnSyncReturns<Buffer>
export function spawnSync(file: string, args?: readonly string[], options?: SpawnSyncOptions): SpawnSyncReturns<string | Buffer>
export function spawnSync(file: string, args?: unknown, options?: unknown): SpawnSyncReturns<string | Buffer> {
  return spawnSyncImpl(file, args, options) as unknown as SpawnSyncReturns<string | Buffer>
}

/** child_process's checkExecSyncError: the result's error, or "Command failed" for a non-zero status. */
function checkExecSyncError(ret: Result, args: string[] | undefined, cmd: string | undefined): Error | undefined {
  if (ret.error) return withResourceUsage(Object.assign(ret.error, ret), ret.resourceUsage)
  if (ret.status !== 0) {
    let message = `Command failed: ${cmd || (args ?? []).join(' ')}`
    if (ret.stderr && ret.stderr.length > 0) message += `\n${ret.stderr.toString()}`
    return withResourceUsage(Object.assign(new Error(message), ret), ret.resourceUsage)
  }
  return undefined
}

/** An own property: a polluted Object.prototype does not reach the options. */
function own(options: unknown, key: string): unknown {
  return options !== null && typeof options === 'object' && Object.hasOwn(options, key) ? (options as Record<string, unknown>)[key] : undefined
}

function execSyncImpl(command: unknown, options: unknown): Result {
  checkString('command', command)
  if (typeof options === 'function') options = undefined
  const opts: Record<string, unknown> = { __proto__: null, ...(options as object | undefined) }
  opts.shell = typeof opts.shell === 'string' ? opts.shell : true
  // Without a stdio option stderr is piped and then written to ours, as child_process does.
  const inheritStderr = !opts.stdio
  const ret = spawnSyncImpl(command, opts, undefined)
  if (inheritStderr && ret.stderr) process.stderr.write(ret.stderr as Buffer | string)
  const err = checkExecSyncError(ret, undefined, command as string)
  if (err) throw err
  return ret
}

function execFileSyncImpl(file: unknown, args: unknown, options: unknown): Result {
  // child_process's normalizeExecFileArgs.
  if (Array.isArray(args)) args = args.slice()
  else if (args !== null && args !== undefined && typeof args === 'object') {
    options = args
    args = null
  } else if (typeof args === 'function') {
    options = null
    args = null
  }
  args ??= []
  if (typeof options !== 'function' && options !== null && options !== undefined && (typeof options !== 'object' || Array.isArray(options))) {
    throw invalidArgType('options', 'Object', options)
  }
  options ??= {}
  const argv0 = own(options, 'argv0')
  if (argv0 !== undefined && argv0 !== null) checkString('options.argv0', argv0)

  const inheritStderr = !own(options, 'stdio')
  const ret = spawnSyncImpl(file, args, options)
  if (inheritStderr && ret.stderr) process.stderr.write(ret.stderr as Buffer | string)
  const err = checkExecSyncError(ret, [(argv0 as string) || (file as string), ...(args as string[])], undefined)
  if (err) throw err
  return ret
}

function usage(ret: Result): WithUsage<unknown> {
  // A result without an error comes from a child that ran, so its usage is there.
  return { stdout: ret.stdout, resourceUsage: ret.resourceUsage as ResourceUsage }
}

export interface ExecSync {
  /**
   * Runs `command` with the shell to its end, as child_process.execSync does: returns its stdout
   * (a string with an encoding, else a Buffer), writes its stderr to ours unless `stdio` is
   * given, and throws child_process's error (with `resourceUsage`) on failure.
   */
  (command: string): Buffer
  (command: string, options: ExecSyncOptionsWithStringEncoding): string
  (command: string, options: ExecSyncOptionsWithBufferEncoding): Buffer
  (command: string, options?: ExecSyncOptions): string | Buffer
  /** As execSync, returning its stdout with the child's resource usage. */
  withUsage(command: string): WithUsage<Buffer>
  withUsage(command: string, options: ExecSyncOptionsWithStringEncoding): WithUsage<string>
  withUsage(command: string, options: ExecSyncOptionsWithBufferEncoding): WithUsage<Buffer>
  withUsage(command: string, options?: ExecSyncOptions): WithUsage<string | Buffer>
}

export interface ExecFileSync {
  /**
   * Runs `file` with `args` to its end, as child_process.execFileSync does: returns its stdout
   * (a string with an encoding, else a Buffer), writes its stderr to ours unless `stdio` is
   * given, and throws child_process's error (with `resourceUsage`) on failure.
   */
  (file: string): Buffer
  (file: string, options: ExecFileSyncOptionsWithStringEncoding): string
  (file: string, options: ExecFileSyncOptionsWithBufferEncoding): Buffer
  (file: string, options?: ExecFileSyncOptions): string | Buffer
  (file: string, args: readonly string[]): Buffer
  (file: string, args: readonly string[], options: ExecFileSyncOptionsWithStringEncoding): string
  (file: string, args: readonly string[], options: ExecFileSyncOptionsWithBufferEncoding): Buffer
  (file: string, args?: readonly string[], options?: ExecFileSyncOptions): string | Buffer
  /** As execFileSync, returning its stdout with the child's resource usage. */
  withUsage(file: string): WithUsage<Buffer>
  withUsage(file: string, options: ExecFileSyncOptionsWithStringEncoding): WithUsage<string>
  withUsage(file: string, options: ExecFileSyncOptionsWithBufferEncoding): WithUsage<Buffer>
  withUsage(file: string, options?: ExecFileSyncOptions): WithUsage<string | Buffer>
  withUsage(file: string, args: readonly string[]): WithUsage<Buffer>
  withUsage(file: string, args: readonly string[], options: ExecFileSyncOptionsWithStringEncoding): WithUsage<string>
  withUsage(file: string, args: readonly string[], options: ExecFileSyncOptionsWithBufferEncoding): WithUsage<Buffer>
  withUsage(file: string, args?: readonly string[], options?: ExecFileSyncOptions): WithUsage<string | Buffer>
}

export const execSync: ExecSync = Object.assign(
  function execSync(command: string, options?: unknown) {
    return execSyncImpl(command, options).stdout
  } as ExecSync,
  {
    withUsage: function withUsage(command: string, options?: unknown) {
      return usage(execSyncImpl(command, options))
    } as ExecSync['withUsage'],
  },
)

export const execFileSync: ExecFileSync = Object.assign(
  function execFileSync(file: string, args?: unknown, options?: unknown) {
    return execFileSyncImpl(file, args, options).stdout
  } as ExecFileSync,
  {
    withUsage: function withUsage(file: string, args?: unknown, options?: unknown) {
      return usage(execFileSyncImpl(file, args, options))
    } as ExecFileSync['withUsage'],
  },
)
