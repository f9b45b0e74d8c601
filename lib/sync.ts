// spawnSync, execSync and execFileSync: child_process's synchronous functions, with the child
// started through this package's spawn helper (its maxRSS is its own) and its exit's resource
// usage in the result. The native side (src/sync.rs) feeds the input, drains the pipes, enforces
// the timeout and maxBuffer and waits, on this thread: the event loop does not run meanwhile, as
// with child_process.

import type * as Node from 'node:child_process'

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
  PIPE_BUFFER,
  stdioCodes,
} from './normalize.js'
import { SIGTERM, signalName } from './signals.js'
import { traceExit, traceStart } from './trace.js'
import type { SpawnExtras } from './subprocess.js'

/** child_process's default maxBuffer for the synchronous functions: 1 MiB. */
const MAX_BUFFER = 1024 * 1024

/** spawnSync's options: child_process's type, with `detached` and `processGroup` (SpawnExtras). */
export interface SpawnSyncOptions extends Node.SpawnSyncOptions, SpawnExtras {
  /** Make the child the leader of a new session (setsid). */
  detached?: boolean | undefined
}
export interface SpawnSyncOptionsWithStringEncoding extends SpawnSyncOptions {
  encoding: BufferEncoding
}
export interface SpawnSyncOptionsWithBufferEncoding extends SpawnSyncOptions {
  encoding?: 'buffer' | null | undefined
}

/** child_process's spawnSync result, plus the child's resource usage. */
export interface SpawnSyncReturns<T> extends Node.SpawnSyncReturns<T> {
  /**
   * process.resourceUsage()'s shape (maxRSS in KiB) for the child alone; null when it was not
   * started. Non-enumerable, so the result's keys and JSON are child_process's.
   */
  resourceUsage: ResourceUsage | null
}

/** execSync's options: child_process's type. */
export type ExecSyncOptions = Node.ExecSyncOptions
export type ExecSyncOptionsWithStringEncoding = Node.ExecSyncOptionsWithStringEncoding
export type ExecSyncOptionsWithBufferEncoding = Node.ExecSyncOptionsWithBufferEncoding
/** execFileSync's options: child_process's type. */
export type ExecFileSyncOptions = Node.ExecFileSyncOptions
export type ExecFileSyncOptionsWithStringEncoding = Node.ExecFileSyncOptionsWithStringEncoding
export type ExecFileSyncOptionsWithBufferEncoding = Node.ExecFileSyncOptionsWithBufferEncoding

/** The Buffers the calls give: the type `Buffer.concat` returns where this is compiled. */
type OutputBuffer = ReturnType<typeof Buffer.concat>

/** What `withUsage` returns: the plain form's return value, and the child's resource usage. */
export interface OutputWithUsage<T> {
  stdout: T
  /** `null` where pidfd/child_process is Node's own (not Linux, no binary, Linux < 5.4). */
  resourceUsage: ResourceUsage | null
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
  const { file, spawnargs, opts, cwd, detached, processGroup, uid, gid, cgroup } = normalizeSpawnArguments(fileArg, argsArg, optionsArg)
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

  const trace = traceStart(file, spawnargs, cwd)
  const native = callNative(() =>
    binding.spawnSync(
      { file, argv: spawnargs, env, cwd, stdio: codes, detached, processGroup, uid, gid, cgroup, pipeBuffer: PIPE_BUFFER },
      { timeout, maxBuffer, killSignal: killSignal ?? SIGTERM },
      input,
    ),
  )

  // The keys in child_process's order: error (if any), status, signal, output, pid, stdout, stderr.
  const result = {} as Result
  if (native.errno !== undefined && native.errno !== null) result.error = undefined
  const exit = native.exit ? toExitInfo(native.exit) : null
  if (trace && exit) traceExit(trace, native.pid, exit)
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
export function spawnSync(file: string): SpawnSyncReturns<OutputBuffer>
export function spawnSync(file: string, options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>
export function spawnSync(file: string, options: SpawnSyncOptionsWithBufferEncoding): SpawnSyncReturns<OutputBuffer>
export function spawnSync(file: string, options?: SpawnSyncOptions): SpawnSyncReturns<string | OutputBuffer>
export function spawnSync(file: string, args: readonly string[]): SpawnSyncReturns<OutputBuffer>
export function spawnSync(file: string, args: readonly string[], options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>
export function spawnSync(file: string, args: readonly string[], options: SpawnSyncOptionsWithBufferEncoding): SpawnSyncReturns<OutputBuffer>
export function spawnSync(file: string, args?: readonly string[], options?: SpawnSyncOptions): SpawnSyncReturns<string | OutputBuffer>
export function spawnSync(file: string, args?: unknown, options?: unknown): SpawnSyncReturns<string | OutputBuffer> {
  return spawnSyncImpl(file, args, options) as unknown as SpawnSyncReturns<string | OutputBuffer>
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

function usage(ret: Result): OutputWithUsage<unknown> {
  // A result without an error comes from a child that ran, so its usage is there.
  return { stdout: ret.stdout, resourceUsage: ret.resourceUsage as ResourceUsage }
}

export interface ExecSync {
  /**
   * Runs `command` with the shell to its end, as child_process.execSync does: returns its stdout
   * (a string with an encoding, else a Buffer), writes its stderr to ours unless `stdio` is
   * given, and throws child_process's error (with `resourceUsage`) on failure.
   */
  (command: string): OutputBuffer
  (command: string, options: ExecSyncOptionsWithStringEncoding): string
  (command: string, options: ExecSyncOptionsWithBufferEncoding): OutputBuffer
  (command: string, options?: ExecSyncOptions): string | OutputBuffer
  /** As execSync, returning its stdout with the child's resource usage. */
  withUsage(command: string): OutputWithUsage<OutputBuffer>
  withUsage(command: string, options: ExecSyncOptionsWithStringEncoding): OutputWithUsage<string>
  withUsage(command: string, options: ExecSyncOptionsWithBufferEncoding): OutputWithUsage<OutputBuffer>
  withUsage(command: string, options?: ExecSyncOptions): OutputWithUsage<string | OutputBuffer>
}

export interface ExecFileSync {
  /**
   * Runs `file` with `args` to its end, as child_process.execFileSync does: returns its stdout
   * (a string with an encoding, else a Buffer), writes its stderr to ours unless `stdio` is
   * given, and throws child_process's error (with `resourceUsage`) on failure.
   */
  (file: string): OutputBuffer
  (file: string, options: ExecFileSyncOptionsWithStringEncoding): string
  (file: string, options: ExecFileSyncOptionsWithBufferEncoding): OutputBuffer
  (file: string, options?: ExecFileSyncOptions): string | OutputBuffer
  (file: string, args: readonly string[]): OutputBuffer
  (file: string, args: readonly string[], options: ExecFileSyncOptionsWithStringEncoding): string
  (file: string, args: readonly string[], options: ExecFileSyncOptionsWithBufferEncoding): OutputBuffer
  (file: string, args?: readonly string[], options?: ExecFileSyncOptions): string | OutputBuffer
  /** As execFileSync, returning its stdout with the child's resource usage. */
  withUsage(file: string): OutputWithUsage<OutputBuffer>
  withUsage(file: string, options: ExecFileSyncOptionsWithStringEncoding): OutputWithUsage<string>
  withUsage(file: string, options: ExecFileSyncOptionsWithBufferEncoding): OutputWithUsage<OutputBuffer>
  withUsage(file: string, options?: ExecFileSyncOptions): OutputWithUsage<string | OutputBuffer>
  withUsage(file: string, args: readonly string[]): OutputWithUsage<OutputBuffer>
  withUsage(file: string, args: readonly string[], options: ExecFileSyncOptionsWithStringEncoding): OutputWithUsage<string>
  withUsage(file: string, args: readonly string[], options: ExecFileSyncOptionsWithBufferEncoding): OutputWithUsage<OutputBuffer>
  withUsage(file: string, args?: readonly string[], options?: ExecFileSyncOptions): OutputWithUsage<string | OutputBuffer>
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
