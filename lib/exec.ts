// exec() and execFile(): child_process's buffered calls on top of this package's spawn, so the
// child they return has `exited`, `resourceUsage()` and its own maxRSS. The arguments are read,
// the output gathered and the error built as child_process does (the Node it runs under).

import { promisify } from 'node:util'

import { errnoName, invalidArgType, maxBufferExceeded } from './errors.js'
import { checkKillSignal, checkMaxBuffer, checkString, checkTimeout } from './normalize.js'
import type * as Node from 'node:child_process'

import type { ResourceUsage } from './exit.js'
import { spawn, type SpawnOptions, type Subprocess } from './subprocess.js'

/** child_process's default for exec and execFile: 1 MiB of stdout, and as much of stderr. */
const MAX_BUFFER = 1024 * 1024

/** exec's options: child_process's type. */
export type ExecOptions = Node.ExecOptions
/** execFile's options: child_process's type (`argv0` is checked and not used, as there). */
export type ExecFileOptions = Node.ExecFileOptions

/** The usage the package adds to the errors, where the child ran to its exit. */
export interface WithUsage {
  /** The child's usage. Not enumerable, so the error prints as Node's. Not in child_process. */
  resourceUsage?: ResourceUsage
}
/** exec's error: Node's, with the child's usage. */
export type ExecException = Node.ExecException & WithUsage
/** execFile's error: Node's, with the child's usage. */
export type ExecFileException = Node.ExecFileException & WithUsage

/** The Buffers the calls give: the type `Buffer.concat` returns where this is compiled. */
type OutputBuffer = ReturnType<typeof Buffer.concat>

export type ExecCallback<T = string | OutputBuffer, E = ExecFileException> = (error: E | null, stdout: T, stderr: T) => void

/** What the promisified forms resolve with. */
export interface ExecOutput<T = string | OutputBuffer> {
  stdout: T
  stderr: T
}

/** The promisified forms' results: a promise with the child as `.child`. */
export type PromiseWithChild<T> = Promise<T> & { child: Subprocess }

type Chunk = string | Buffer
/** An error on its way to the callback: Node's fields are set on it here. */
type Failure = Error & Record<string, unknown>

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArgType(name, 'Function', value)
}

function checkObject(name: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, 'Object', value)
}

function execFileImpl(fileArg: unknown, argsArg?: unknown, optionsArg?: unknown, callbackArg?: unknown): Subprocess {
  let file = fileArg
  let args = argsArg
  let options = optionsArg
  let callback = callbackArg
  if (Array.isArray(args)) args = [...args]
  else if (args !== null && args !== undefined && typeof args === 'object') {
    callback = options
    options = args
    args = null
  } else if (typeof args === 'function') {
    callback = args
    options = null
    args = null
  }
  args ??= []
  if (typeof options === 'function') callback = options
  else if (options !== null && options !== undefined) checkObject('options', options)
  options ??= {}
  if (callback !== null && callback !== undefined) checkFunction('callback', callback)
  const given = options as Record<string, unknown>
  if (Object.hasOwn(given, 'argv0') && given.argv0 !== null && given.argv0 !== undefined) checkString('options.argv0', given.argv0)

  // Own properties only, over child_process's defaults.
  const opts: Record<string, unknown> = {
    __proto__: null,
    encoding: 'utf8',
    timeout: 0,
    maxBuffer: MAX_BUFFER,
    killSignal: 'SIGTERM',
    cwd: null,
    env: null,
    shell: false,
    ...(options as object),
  }
  checkTimeout(opts.timeout)
  checkMaxBuffer(opts.maxBuffer)
  const killSignal = checkKillSignal(opts.killSignal)
  // An own maxBuffer replaces the default even when null or undefined, and child_process then
  // compares the byte count with it as it is: `n > null` holds for any n > 0 (null limits to 0
  // bytes), `n > undefined` never does (no limit). Number() keeps those comparisons.
  const maxBuffer = Number(opts.maxBuffer)
  const timeout = (opts.timeout ?? 0) as number

  const child = spawn(file as string, args as string[], {
    cwd: opts.cwd,
    env: opts.env,
    gid: opts.gid,
    shell: opts.shell,
    signal: opts.signal,
    uid: opts.uid,
    windowsHide: !!opts.windowsHide,
    windowsVerbatimArguments: !!opts.windowsVerbatimArguments,
  } as SpawnOptions)

  const encoding = opts.encoding !== 'buffer' && typeof opts.encoding === 'string' && Buffer.isEncoding(opts.encoding) ? opts.encoding : null
  const out: Chunk[] = []
  const err: Chunk[] = []
  let outLength = 0
  let errLength = 0
  let killedHere = false
  let done = false
  let timer: NodeJS.Timeout | undefined
  let failure: Failure | null = null
  const cb = callback as ((error: Failure | null, stdout: Chunk, stderr: Chunk) => void) | undefined

  const joined = (chunks: Chunk[], stream: typeof child.stdout): Chunk =>
    encoding || stream?.readableEncoding ? chunks.join('') : Buffer.concat(chunks as Buffer[])

  const finish = (code?: number | null, signal?: NodeJS.Signals | null): void => {
    if (done) return
    done = true
    if (timer) clearTimeout(timer)
    timer = undefined
    if (!cb) return
    const stdout = joined(out, child.stdout)
    const stderr = joined(err, child.stderr)
    if (!failure && code === 0 && signal === null) {
      cb(null, stdout, stderr)
      return
    }
    const argv = args as unknown[]
    const cmd = argv.length > 0 ? `${String(file)} ${argv.join(' ')}` : String(file)
    if (!failure) {
      failure = Object.assign(new Error(`Command failed: ${cmd}\n${String(stderr)}`) as Failure, {
        code: typeof code === 'number' && code < 0 ? errnoName(-code) : (code as number),
        killed: child.killed || killedHere,
        signal: signal ?? null,
      })
    }
    failure.cmd = cmd
    const usage = child.resourceUsage()
    if (usage && !Object.hasOwn(failure, 'resourceUsage')) {
      Object.defineProperty(failure, 'resourceUsage', { value: usage, enumerable: false, configurable: true, writable: true })
    }
    cb(failure, stdout, stderr)
  }

  const kill = (): void => {
    child.stdout?.destroy()
    child.stderr?.destroy()
    killedHere = true
    try {
      child.kill(killSignal)
    } catch (e) {
      failure = e as Failure
      finish()
    }
  }

  if (timeout > 0) {
    timer = setTimeout(() => {
      kill()
      timer = undefined
    }, timeout)
  }

  const collect = (stream: NonNullable<typeof child.stdout>, chunks: Chunk[], name: 'stdout' | 'stderr'): void => {
    if (encoding) stream.setEncoding(encoding)
    stream.on('data', (chunk: Chunk) => {
      if (maxBuffer === Infinity) {
        chunks.push(chunk)
        return
      }
      const streamEncoding = stream.readableEncoding
      const length = streamEncoding ? Buffer.byteLength(chunk as string, streamEncoding) : chunk.length
      const before = name === 'stdout' ? outLength : errLength
      const total = before + length
      if (name === 'stdout') outLength = total
      else errLength = total
      if (total > maxBuffer) {
        // As child_process: the part that fits is kept (a string chunk is cut by its byte
        // count, as Node cuts it), then the child is killed.
        chunks.push(chunk.slice(0, maxBuffer - before))
        failure = maxBufferExceeded(name) as unknown as Failure
        kill()
      } else {
        chunks.push(chunk)
      }
    })
  }
  if (child.stdout) collect(child.stdout, out, 'stdout')
  if (child.stderr) collect(child.stderr, err, 'stderr')

  child.addListener('close', finish)
  child.addListener('error', (e: Error) => {
    failure = e as Failure
    child.stdout?.destroy()
    child.stderr?.destroy()
    finish()
  })
  return child
}

/** The promisified form: `{ stdout, stderr }`, or a rejection carrying them; `.child` is the child. */
function promisified(call: (...args: unknown[]) => Subprocess, name: string) {
  const fn = {
    [name](...args: unknown[]): PromiseWithChild<ExecOutput> {
      let settle!: (value: ExecOutput) => void
      let fail!: (reason: unknown) => void
      const promise = new Promise<ExecOutput>((resolve, reject) => {
        settle = resolve
        fail = reject
      }) as PromiseWithChild<ExecOutput>
      promise.child = call(...args, (error: Failure | null, stdout: Chunk, stderr: Chunk) => {
        if (error !== null) {
          error.stdout = stdout
          error.stderr = stderr
          fail(error)
        } else {
          settle({ stdout, stderr } as ExecOutput)
        }
      })
      return promise
    },
  }[name]!
  return fn
}

type Args = readonly string[] | undefined | null
type Strings = ExecCallback<string>
type Buffers = ExecCallback<OutputBuffer>
type Either = ExecCallback | undefined | null

// Typed as child_process types these two, overload for overload, with a Subprocess as the result
// and the errors carrying the usage.

/** Runs `file` with `args` (no shell unless `shell` says so) and buffers its output. */
export function execFile(file: string, callback?: Strings): Subprocess
export function execFile(file: string, args: Args, callback?: Strings): Subprocess
export function execFile(file: string, options: Node.ExecFileOptionsWithBufferEncoding, callback?: Buffers): Subprocess
export function execFile(file: string, args: Args, options: Node.ExecFileOptionsWithBufferEncoding, callback?: Buffers): Subprocess
export function execFile(file: string, options: Node.ExecFileOptionsWithStringEncoding, callback?: Strings): Subprocess
export function execFile(file: string, args: Args, options: Node.ExecFileOptionsWithStringEncoding, callback?: Strings): Subprocess
export function execFile(file: string, options: ExecFileOptions | undefined | null, callback: Either): Subprocess
export function execFile(file: string, args: Args, options: ExecFileOptions | undefined | null, callback: Either): Subprocess
export function execFile(file: string, ...rest: unknown[]): Subprocess {
  return execFileImpl(file, ...rest)
}

type ExecStrings = ExecCallback<string, ExecException>

/** Runs `command` with `/bin/sh -c` (or `options.shell`) and buffers its output. */
export function exec(command: string, callback?: ExecStrings): Subprocess
export function exec(command: string, options: Node.ExecOptionsWithBufferEncoding, callback?: ExecCallback<OutputBuffer, ExecException>): Subprocess
export function exec(command: string, options: Node.ExecOptionsWithStringEncoding, callback?: ExecStrings): Subprocess
export function exec(command: string, options: ExecOptions | undefined | null, callback?: ExecCallback<string | OutputBuffer, ExecException>): Subprocess
export function exec(command: string, optionsArg?: unknown, callbackArg?: unknown): Subprocess {
  checkString('command', command)
  let options = optionsArg
  let callback = callbackArg
  if (typeof options === 'function') {
    callback = options
    options = undefined
  }
  const opts: Record<string, unknown> = { __proto__: null, ...(options as object | undefined) }
  opts.shell = typeof opts.shell === 'string' ? opts.shell : true
  return execFileImpl(command, opts, callback)
}

// util.promisify(exec) and util.promisify(execFile) take these types, as child_process's do.
type Output<T> = PromiseWithChild<ExecOutput<T>>
export declare namespace exec {
  function __promisify__(command: string): Output<string>
  function __promisify__(command: string, options: Node.ExecOptionsWithBufferEncoding): Output<OutputBuffer>
  function __promisify__(command: string, options: Node.ExecOptionsWithStringEncoding): Output<string>
  function __promisify__(command: string, options: ExecOptions | undefined | null): Output<string | OutputBuffer>
}
export declare namespace execFile {
  function __promisify__(file: string): Output<string>
  function __promisify__(file: string, args: Args): Output<string>
  function __promisify__(file: string, options: Node.ExecFileOptionsWithBufferEncoding): Output<OutputBuffer>
  function __promisify__(file: string, args: Args, options: Node.ExecFileOptionsWithBufferEncoding): Output<OutputBuffer>
  function __promisify__(file: string, options: Node.ExecFileOptionsWithStringEncoding): Output<string>
  function __promisify__(file: string, args: Args, options: Node.ExecFileOptionsWithStringEncoding): Output<string>
  function __promisify__(file: string, options: ExecFileOptions | undefined | null): Output<string | OutputBuffer>
  function __promisify__(file: string, args: Args, options: ExecFileOptions | undefined | null): Output<string | OutputBuffer>
}

Object.defineProperty(exec, promisify.custom, { value: promisified(exec as (...args: unknown[]) => Subprocess, 'exec'), enumerable: false })
Object.defineProperty(execFile, promisify.custom, {
  value: promisified(execFile as (...args: unknown[]) => Subprocess, 'execFile'),
  enumerable: false,
})
