// fork(): a drop-in for child_process.fork. A Node process runs `modulePath` with an IPC channel
// (lib/ipc.ts), started by this package's spawn, so its exit comes with its resource usage.

import type { ForkOptions as NodeForkOptions } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { invalidArgType, invalidArgValue, ipcRequired } from './errors.js'
import { noNul } from './normalize.js'
import { spawn, type SpawnExtras, type SpawnOptions, type Subprocess } from './subprocess.js'

/** child_process.fork's options (the same type), and `processGroup`. */
export interface ForkOptions extends NodeForkOptions, SpawnExtras {}

/** The stdio entries a stdio string stands for, with the channel after them. */
function withIpc(stdio: string): unknown[] {
  if (stdio === 'inherit') return [0, 1, 2, 'ipc']
  if (stdio === 'ignore' || stdio === 'pipe' || stdio === 'overlapped') return [stdio, stdio, stdio, 'ipc']
  throw invalidArgValue('stdio', stdio)
}

/** modulePath as child_process reads it: a string, a Buffer or a file: URL, without NUL bytes. */
function modulePathOf(value: unknown): string | Uint8Array {
  const path = value instanceof URL ? fileURLToPath(value) : value
  if (typeof path !== 'string' && !(path instanceof Uint8Array)) throw invalidArgType('modulePath', ['string', 'Buffer', 'URL'], value)
  const nul = typeof path === 'string' ? path.includes('\0') : path.includes(0)
  if (nul) throw invalidArgValue('modulePath', path, 'must be a string, Uint8Array, or URL without null bytes')
  return path
}

/**
 * Runs the Node module `modulePath` in a new Node process (`execPath`, default this one's, with
 * `execArgv`, default this one's) with an IPC channel, as child_process.fork does: stdio inherited
 * (`silent`: piped) and the channel as descriptor 3, unless `stdio` says otherwise (it must
 * have an 'ipc' entry). Returns this package's Subprocess: send(), 'message', disconnect(), and
 * the exit with its rusage.
 */
export function fork(modulePath: string | URL, options?: ForkOptions): Subprocess
export function fork(modulePath: string | URL, args?: readonly string[], options?: ForkOptions): Subprocess
export function fork(modulePathArg: string | URL, argsArg?: readonly string[] | ForkOptions, optionsArg?: ForkOptions): Subprocess {
  const modulePath = modulePathOf(modulePathArg)
  let args: unknown[]
  let options: unknown = optionsArg
  if (argsArg === undefined || argsArg === null) args = []
  else if (typeof argsArg === 'object' && !Array.isArray(argsArg)) {
    options = argsArg
    args = []
  } else if (!Array.isArray(argsArg)) throw invalidArgType('args', 'Array', argsArg)
  else args = argsArg as unknown[]
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw invalidArgType('options', 'Object', options)
  }
  const opts: Record<string, unknown> = { __proto__: null, ...(options as object | null | undefined), shell: false }
  opts.execPath ||= process.execPath
  noNul('options.execPath', opts.execPath)

  let execArgv = (opts.execArgv || process.execArgv) as unknown[]
  if (Array.isArray(execArgv)) execArgv.forEach((arg, i) => noNul(`options.execArgv[${i}]`, arg))
  // As child_process: a parent run with -e does not pass its script to the child.
  const evaluated = (process as { _eval?: string })._eval
  if (execArgv === process.execArgv && evaluated != null) {
    const at = execArgv.lastIndexOf(evaluated)
    if (at > 0) execArgv = execArgv.filter((_, i) => i !== at - 1 && i !== at)
  }
  const argv = [...execArgv, modulePath, ...args]

  if (typeof opts.stdio === 'string') opts.stdio = withIpc(opts.stdio)
  else if (!Array.isArray(opts.stdio)) opts.stdio = withIpc(opts.silent ? 'pipe' : 'inherit')
  else if (!opts.stdio.includes('ipc')) throw ipcRequired('options.stdio')

  return spawn(opts.execPath as string, argv as string[], opts as SpawnOptions)
}
