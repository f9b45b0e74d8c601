// How child_process reads the arguments of its spawn family (normalizeSpawnArguments and the
// validators it calls), shared by spawn() and the sync functions: the same coercions, the same
// ERR_* errors, own properties only.

import { existsSync } from 'node:fs'
import type { Stream } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { isMainThread } from 'node:worker_threads'

import { invalidArgType, invalidArgValue, invalidSyncForkInput, ipcOnePipe, ipcSyncFork, ipcUnavailable, outOfRange } from './errors.js'
import { toChildSignal } from './signals.js'

/**
 * child_process changed between Node versions (Node 24 warns DEP0190; Node 25 checks uid, gid,
 * timeout and maxBuffer with its generic validators): this behaves as the Node it runs under.
 */
export const NODE_MAJOR = Number(process.versions.node.split('.')[0])
const NODE_25 = NODE_MAJOR >= 25

/**
 * The socket buffers of each pipe, as the running Node's libuv sets them: from 1.51 on, 64 KiB
 * both ways on both ends (which on Linux shrinks the kernel's default of 208 KiB: how much a
 * child writes before it blocks, and when send() says false, follow from it). undefined: the
 * kernel's default, as older libuv leaves it.
 */
export const PIPE_BUFFER: number | undefined = (() => {
  const [major = 0, minor = 0] = (process.versions.uv ?? '').split('.').map(Number)
  return major > 1 || (major === 1 && minor >= 51) ? 65536 : undefined
})()

// Codes the native spawn takes for each child descriptor; >= 0 passes one of ours.
export const PIPE = -1
export const INHERIT = -2
export const IGNORE = -3

/** A string option or argument without NUL bytes, as Node's validators check it. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value)
  return noNul(name, value)
}

export function noNul<T>(name: string, value: T): T {
  if (typeof value === 'string' && value.includes('\0')) throw invalidArgValue(name, value, 'must be a string without null bytes')
  return value
}

/** uid and gid may be any 32-bit integer (the kernel judges them). */
function checkInt32(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (!NODE_25) {
    // Before Node 25 child_process tests `value === (value | 0)`: the coercion runs first, so a
    // Symbol or a BigInt throws V8's own TypeError ("Cannot convert a Symbol value to a number",
    // "Cannot mix BigInt and other types…"), not ERR_INVALID_ARG_TYPE, and a valueOf() runs.
    if (value !== ((value as number) | 0)) throw invalidArgType(name, 'int32', value)
    return (value as number) >>> 0
  }
  const int32 = typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value <= 2 ** 31 - 1
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value)
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value)
  if (!int32) throw outOfRange(name, '>= -2147483648 && <= 2147483647', value)
  return value >>> 0
}

/** The timeout option: a non-negative integer (0: none). */
export function checkTimeout(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (!NODE_25) {
    // Before Node 25 any integer >= 0 passes, 2 ** 53 and beyond too (later ones cap it at
    // MAX_SAFE_INTEGER); the async functions' timer then fires after 1 ms, as setTimeout's
    // does for any delay past 2 ** 31 - 1, in every version.
    if (!(Number.isInteger(value) && (value as number) >= 0)) throw outOfRange('timeout', 'an unsigned integer', value)
    return (value as number) > 0 ? (value as number) : undefined
  }
  if (typeof value !== 'number') throw invalidArgType('timeout', 'number', value)
  if (!Number.isInteger(value)) throw outOfRange('timeout', 'an integer', value)
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw outOfRange('timeout', `>= 0 && <= ${Number.MAX_SAFE_INTEGER}`, value)
  return value > 0 ? value : undefined
}

/** The maxBuffer option: a number >= 0, Infinity and fractions included (0: no limit). */
export function checkMaxBuffer(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (!NODE_25) {
    if (typeof value !== 'number' || !(value >= 0)) throw outOfRange('options.maxBuffer', 'a positive number', value)
    return value
  }
  if (typeof value !== 'number') throw invalidArgType('options.maxBuffer', 'number', value)
  if (!(value >= 0)) throw outOfRange('options.maxBuffer', '>= 0', value)
  return value
}

/**
 * A `killSignal` option as child_process reads it (its sanitizeKillSignal): a signal number this
 * system has, or a name in any case ('sigkill'); undefined and null stay undefined (SIGTERM).
 */
export function checkKillSignal(value: unknown): number | undefined {
  if (typeof value === 'string' || typeof value === 'number') return toChildSignal(value)
  if (value !== undefined && value !== null) throw invalidArgType('options.killSignal', ['string', 'number'], value)
  return undefined
}

export function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value)
  return value
}

/** Whether `handle` is one of libuv's stream handles, as child_process's getHandleWrapType asks. */
function isWrap(handle: unknown): handle is { fd?: unknown } {
  // A primitive's constructor (String, Number) is none of these, so it needs no test of its own.
  const name = (handle as { constructor?: { name?: unknown } } | null | undefined)?.constructor?.name
  return name === 'Pipe' || name === 'TTY' || name === 'TCP' || name === 'UDP'
}

/**
 * A stream of ours that becomes a child's descriptor: its fd, and whether it wraps a handle. As
 * child_process: an `fd` number first, else a libuv handle at `handle` or `_handle` (an object
 * that only looks like one is refused, as there).
 */
function streamFd(stream: object): { fd: number; handle: boolean } | null {
  const s = stream as { fd?: unknown; handle?: unknown; _handle?: unknown }
  if (typeof s.fd === 'number') return { fd: s.fd, handle: false }
  const wrap = isWrap(s.handle) ? s.handle : isWrap(s._handle) ? s._handle : null
  const fd = wrap?.fd
  return typeof fd === 'number' && fd >= 0 ? { fd, handle: true } : null
}

/**
 * The stdio entries, as Node reads them: codes for the native side, the streams handed over,
 * and the index of the 'ipc' entry (a socket pair, as a pipe is; one at most). `sync`: as
 * spawnSync reads them ('ipc' is ERR_IPC_SYNC_FORK; a string or a buffer entry is left out, as
 * Node's getValidStdio leaves it out, so later entries move down).
 */
export function stdioCodes(stdio: unknown, sync = false): { codes: number[]; handedOver: Stream[]; ipc: number | undefined } {
  let list: unknown[]
  // A missing or falsy stdio is 'pipe', as child_process has it.
  if (!stdio) stdio = 'pipe'
  if (typeof stdio === 'string') {
    if (stdio === 'inherit') list = [0, 1, 2]
    else if (stdio === 'ignore' || stdio === 'pipe' || stdio === 'overlapped') list = [stdio, stdio, stdio]
    else throw invalidArgValue('stdio', stdio)
  } else if (Array.isArray(stdio)) list = [...stdio]
  else throw invalidArgValue('stdio', stdio)
  while (list.length < 3) list.push(undefined)
  const handedOver: Stream[] = []
  const codes: number[] = []
  let ipc: number | undefined
  list.forEach((entry, i) => {
    entry ??= i < 3 ? 'pipe' : 'ignore'
    if (entry === 'ignore') codes.push(IGNORE)
    else if (entry === 'pipe' || entry === 'overlapped' || (typeof entry === 'number' && entry < 0)) codes.push(PIPE)
    else if (entry === 'ipc') {
      if (sync) throw ipcSyncFork()
      if (ipc !== undefined) throw ipcOnePipe()
      // Said before any child is made, rather than failing once it runs.
      if (process.versions.bun !== undefined) throw ipcUnavailable()
      ipc = codes.length
      codes.push(PIPE)
    } else if (entry === 'inherit') codes.push(INHERIT)
    else if (typeof entry === 'number') codes.push(Math.trunc(entry))
    else if (typeof entry === 'string' || ArrayBuffer.isView(entry)) {
      if (!sync) throw invalidSyncForkInput(entry)
    } else {
      const found = typeof entry === 'object' && entry !== null ? streamFd(entry) : null
      if (found === null) throw invalidArgValue('stdio', entry)
      if (found.handle) handedOver.push(entry as Stream)
      codes.push(found.fd)
    }
  })
  return { codes, handedOver, ipc }
}

/**
 * The child's environment as `KEY=value` entries, read as child_process reads it: every key
 * `for…in` finds (inherited ones too, on purpose), undefined values left out. `undefined`: this
 * process's own environment, which the native side copies itself (on the main thread
 * `process.env` is the process's environment; a worker's is its own copy, so a worker passes it).
 */
export function envPairs(env: unknown): string[] | undefined {
  if (!env && isMainThread) return undefined
  // As child_process: coverage collection reaches children whatever env they are given (unless
  // this process's is empty), set on the caller's own env object (so it shadows an inherited one).
  const coverage = process.env.NODE_V8_COVERAGE
  if (coverage && env && !Object.hasOwn(env as object, 'NODE_V8_COVERAGE')) (env as Record<string, unknown>).NODE_V8_COVERAGE = coverage
  const source = (env || { ...process.env }) as Record<string, unknown>
  const pairs: string[] = []
  for (const key in source) {
    const value = source[key]
    if (value === undefined) continue
    noNul(`options.env['${key}']`, key)
    noNul(`options.env['${key}']`, value)
    pairs.push(`${key}=${String(value)}`)
  }
  return pairs
}

/** DEP0190 is emitted once a process, whichever function of the family saw the args. */
let warnedShellArgs = false

/** What normalizeSpawnArguments makes of `(file, args, options)`. */
export interface Normalized {
  /** The program to run: `file`, or the shell. */
  file: string
  /** The whole argv, argv[0] included. */
  spawnargs: string[]
  /** The options' own properties (a null-prototype copy). */
  opts: Record<string, unknown>
  cwd: string | undefined
  detached: boolean
  processGroup: boolean
  uid: number | undefined
  gid: number | undefined
  /** The cgroup v2 directory the child starts in (options.cgroup: a path or a Cgroup). */
  cgroup: string | undefined
}

/**
 * Reads `(file, args, options)` as child_process's normalizeSpawnArguments does, up to the
 * environment (`envPairs(opts.env)`, which each caller reads where Node reads it). `sync`: for
 * spawnSync and its family, which read an argument with no string form as child_process's do.
 */
export function normalizeSpawnArguments(fileArg: unknown, argsArg: unknown, optionsArg: unknown, sync = true): Normalized {
  const file = checkString('file', fileArg)
  if (file.length === 0) throw invalidArgValue('file', file, 'cannot be empty')
  let args: unknown[]
  let options = optionsArg
  if (Array.isArray(argsArg)) args = [...argsArg]
  else if (argsArg === null || argsArg === undefined) args = []
  else if (typeof argsArg !== 'object') throw invalidArgType('args', 'object', argsArg)
  else {
    options = argsArg
    args = []
  }
  args.forEach((arg, i) => noNul(`args[${i}]`, arg))
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalidArgType('options', 'Object', options)
  }
  // Own properties only: a polluted Object.prototype must not reach shell, cwd or env.
  const opts: Record<string, unknown> = { __proto__: null, ...(options as object | undefined) }

  let cwd: string | undefined
  if (opts.cwd !== undefined && opts.cwd !== null) {
    if (opts.cwd instanceof URL) cwd = fileURLToPath(opts.cwd)
    else if (typeof opts.cwd === 'string') cwd = opts.cwd
    else if (opts.cwd instanceof Uint8Array) cwd = Buffer.from(opts.cwd).toString()
    else throw invalidArgType('options.cwd', ['string', 'Buffer', 'URL'], opts.cwd)
    if (cwd.includes('\0')) throw invalidArgValue('options.cwd', cwd, 'must be a string, Uint8Array, or URL without null bytes')
  }
  const detached = checkBoolean('options.detached', opts.detached) ?? false
  const processGroup = checkBoolean('options.processGroup', opts.processGroup) ?? false
  const uid = checkInt32('options.uid', opts.uid)
  const gid = checkInt32('options.gid', opts.gid)
  const cgroup = cgroupPath(opts.cgroup)
  const shell = opts.shell
  if (shell !== undefined && shell !== null && typeof shell !== 'boolean' && typeof shell !== 'string') {
    throw invalidArgType('options.shell', ['boolean', 'string'], shell)
  }
  const argv0 = opts.argv0 === undefined || opts.argv0 === null ? undefined : checkString('options.argv0', opts.argv0)
  checkBoolean('options.windowsHide', opts.windowsHide)
  checkBoolean('options.windowsVerbatimArguments', opts.windowsVerbatimArguments)

  let program = file
  if (shell) {
    noNul('options.shell', shell)
    if (args.length > 0 && NODE_MAJOR >= 24 && !warnedShellArgs) {
      warnedShellArgs = true
      process.emitWarning(
        'Passing args to a child process with shell option true can lead to security vulnerabilities, as the arguments are not escaped, only concatenated.',
        'DeprecationWarning',
        'DEP0190',
      )
    }
    const command = args.length > 0 ? `${file} ${args.join(' ')}` : file
    program = typeof shell === 'string' ? shell : '/bin/sh'
    args = ['-c', command]
  }
  // Non-string arguments become strings, as child_process makes them (`String(23)`). One that
  // cannot be made a string (a null-prototype object, a Symbol, a throwing toString) throws
  // V8's TypeError in the sync functions, as there; child_process's spawn passes it on as an
  // empty argument instead, and so does this spawn.
  const spawnargs = [argv0 ?? program].concat(args.map(sync ? toStringStrict : stringOrEmpty))
  return { file: program, spawnargs, opts, cwd, detached, processGroup, uid, gid, cgroup }
}

/** An argument as V8's ToString makes it (a Symbol throws, as in Node's binding; String() would not). */
function toStringStrict(arg: unknown): string {
  return `${arg as string}`
}

/** An argument as child_process's spawn passes it: its string, or '' where it has none. */
function stringOrEmpty(arg: unknown): string {
  try {
    return toStringStrict(arg)
  } catch {
    return ''
  }
}

/** options.cgroup: a cgroup v2 directory's path, or an object with a string `path` (a Cgroup). */
function cgroupPath(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  const path = typeof value === 'object' && Object.hasOwn(value, 'path') ? (value as { path: unknown }).path : value
  if (typeof path !== 'string') throw invalidArgType('options.cgroup', ['string', 'Cgroup'], value)
  if (path === '' || path.includes('\0')) throw invalidArgValue('options.cgroup', path, 'must be a cgroup directory path, not empty and without null bytes')
  // Every cgroup v2 directory has cgroup.controllers (a v1 one does not).
  if (!existsSync(`${path}/cgroup.controllers`)) throw invalidArgValue('options.cgroup', path, 'must be a cgroup v2 directory (it has no cgroup.controllers)')
  return path
}
