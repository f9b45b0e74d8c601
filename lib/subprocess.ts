// spawn(): a child this package starts, reaps and so always has the rusage of.

import { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'

import { binding, type NativePidFd } from './native.js'
import { callNative, invalidArgType, invalidArgValue } from './errors.js'
import type { ExitInfo } from './exit.js'
import { AsyncPidFd } from './pidfd.js'
import { validateObject } from './validate.js'

export type StdioKind = 'pipe' | 'inherit' | 'ignore'

export interface SpawnOptions {
  /** Working directory of the child. */
  cwd?: string
  /** Environment of the child (default `process.env`); undefined values are left out. */
  env?: Record<string, string | undefined>
  /** As child_process: one kind for 0–2, or one entry per child descriptor (a number passes one of ours). */
  stdio?: StdioKind | Array<StdioKind | number | null | undefined>
}

// Codes the native spawn takes for each child descriptor; >= 0 passes one of ours.
const STDIO_CODES: Record<StdioKind, number> = { pipe: -1, inherit: -2, ignore: -3 }

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
  if (value.includes('\0')) throw invalidArgValue(name, value, 'must be a string without null bytes')
  return value
}

function stdioCodes(stdio: unknown): number[] {
  let list: unknown[]
  if (stdio === undefined) list = []
  else if (typeof stdio === 'string') list = [stdio, stdio, stdio]
  else if (Array.isArray(stdio)) list = [...stdio]
  else throw invalidArgType('options.stdio', 'of type string or an instance of Array', stdio)
  while (list.length < 3) list.push(undefined)
  return list.map((entry, i) => {
    if (entry === null || entry === undefined) return i < 3 ? STDIO_CODES.pipe : STDIO_CODES.ignore
    if (typeof entry === 'string' && Object.hasOwn(STDIO_CODES, entry)) return STDIO_CODES[entry as StdioKind]
    if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 0 && entry <= 2 ** 31 - 1) return entry
    throw invalidArgValue(`options.stdio[${i}]`, entry, "must be 'pipe', 'inherit', 'ignore' or a file descriptor")
  })
}

function envPairs(env: unknown): string[] {
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

/** A process started by spawn(). This package is its only reaper. */
export class Subprocess {
  readonly pid: number
  /** Opened at birth; closing it does not stop the package reaping the child. */
  readonly pidfd: AsyncPidFd
  readonly stdin: Writable | null
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  /** Every child descriptor: a Socket where it is a pipe, null elsewhere. */
  readonly stdio: Array<Socket | null>
  /** Resolves with the exit; `rusage` is never null here. */
  readonly exited: Promise<ExitInfo>
  readonly #own: AsyncPidFd
  #exit: ExitInfo | null = null

  /** @internal */
  constructor(native: NativePidFd) {
    this.pid = native.pid
    this.stdio = native.takeStdio().map((fd, i) => {
      if (fd < 0) return null
      const parentWrites = i === 0
      return new Socket({ fd, readable: !parentWrites || i > 2, writable: parentWrites || i > 2 })
    })
    this.stdin = this.stdio[0] ?? null
    this.stdout = this.stdio[1] ?? null
    this.stderr = this.stdio[2] ?? null
    this.#own = AsyncPidFd.fromNative(native)
    this.pidfd = AsyncPidFd.fromNative(callNative(() => native.share()))
    this.exited = this.#own.wait().then((exit) => {
      this.#exit = exit
      this.#own.close()
      return exit
    })
    // A rejection nobody awaits must not crash the process; awaiting callers still see it.
    this.exited.catch(() => {})
  }

  /** Sends a signal (default 'SIGTERM'); false once the process is gone, as ChildProcess.kill. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#exit) return false
    try {
      this.#own.kill(signal)
      return true
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ESRCH' || (err as { code?: unknown }).code === 'ERR_PIDFD_CLOSED') {
        return false
      }
      throw err
    }
  }
}

/** Starts `file` (searched in the child's PATH) with `args`. */
export function spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): Subprocess {
  checkString('file', file)
  if (file === '') throw invalidArgValue('file', file, 'cannot be empty')
  if (!Array.isArray(args)) throw invalidArgType('args', 'an instance of Array', args)
  const argv = args.map((a, i) => checkString(`args[${i}]`, a))
  const opts = validateObject('options', options)
  const cwd = opts.cwd === undefined ? null : checkString('options.cwd', opts.cwd)
  const env = envPairs(opts.env)
  const codes = stdioCodes(opts.stdio)
  let native: NativePidFd
  try {
    native = callNative(() => binding.spawn(file, argv, env, cwd, codes))
  } catch (err) {
    // As child_process names it: syscall "spawn <file>", with path and spawnargs.
    const e = err as { syscall?: string; code?: string; message: string }
    if (e.syscall === 'spawn') {
      const detail = e.message.slice(`spawn ${e.code}`.length)
      e.message = `spawn ${file} ${e.code}${detail}`
      Object.assign(e, { syscall: `spawn ${file}`, path: file, spawnargs: argv })
    }
    throw err
  }
  return new Subprocess(native)
}
