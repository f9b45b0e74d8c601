// exec() and execFile(): child_process's buffered calls on top of this package's spawn, so the
// child they return has `exited`, `resourceUsage()` and its own maxRSS. The arguments are read,
// the output gathered and the error built as child_process does (the Node it runs under).

import { promisify } from 'node:util'

import { errnoName, invalidArgType, invalidArgValue, maxBufferExceeded, outOfRange } from './errors.js'
import type { ResourceUsage } from './exit.js'
import { toSignalNumber } from './signals.js'
import { spawn, type SpawnOptions, type Subprocess } from './subprocess.js'

/** child_process's default for exec and execFile: 1 MiB of stdout, and as much of stderr. */
const MAX_BUFFER = 1024 * 1024
const NODE_25 = Number(process.versions.node.split('.')[0]) >= 25

export interface ExecFileOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid' | 'shell' | 'signal' | 'windowsHide' | 'windowsVerbatimArguments'> {
  /** `'utf8'` (default) or another Buffer encoding gives strings; `'buffer'` gives Buffers. */
  encoding?: BufferEncoding | 'buffer' | null
  /** Kill the child with `killSignal` after this many milliseconds (0: never). */
  timeout?: number
  /** The most bytes of stdout, and of stderr, kept (default 1 MiB); beyond it the child is killed. */
  maxBuffer?: number
  /** Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number
  /** Checked, and not used: as child_process does for these calls. */
  argv0?: string
}

export interface ExecOptions extends ExecFileOptions {
  /** The shell that runs the command (default '/bin/sh'). */
  shell?: string
}

/** The error exec and execFile give: Node's, plus the child's usage where it ran. */
export interface ExecException extends Error {
  cmd?: string
  killed?: boolean
  code?: number | string
  signal?: NodeJS.Signals | null
  stdout?: string | Buffer
  stderr?: string | Buffer
  /** The child's usage, where it ran to its exit. Not in child_process. */
  resourceUsage?: ResourceUsage
}

export type ExecCallback<T = string | Buffer> = (error: ExecException | null, stdout: T, stderr: T) => void

/** What the promisified forms resolve with. */
export interface ExecOutput<T = string | Buffer> {
  stdout: T
  stderr: T
}

type Chunk = string | Buffer

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArgType(name, 'Function', value)
}

function checkObject(name: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, 'Object', value)
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value)
  if (value.includes('\0')) throw invalidArgValue(name, value, 'must be a string without null bytes')
  return value
}

/** The timeout, as the Node it runs under checks it (Node 25 uses its generic validator). */
function checkTimeout(value: unknown): void {
  if (value === undefined || value === null) return
  if (!NODE_25) {
    if (!(Number.isInteger(value) && (value as number) >= 0)) throw outOfRange('timeout', 'an unsigned integer', value)
    return
  }
  if (typeof value !== 'number') throw invalidArgType('timeout', 'number', value)
  if (!Number.isInteger(value)) throw outOfRange('timeout', 'an integer', value)
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) throw outOfRange('timeout', `>= 0 && <= ${Number.MAX_SAFE_INTEGER}`, value)
}

/** maxBuffer: a number, at least 0 (Infinity keeps everything). */
export function checkMaxBuffer(value: unknown): void {
  if (value === undefined || value === null) return
  if (!NODE_25) {
    if (!(typeof value === 'number' && value >= 0)) throw outOfRange('options.maxBuffer', 'a positive number', value)
    return
  }
  if (typeof value !== 'number') throw invalidArgType('options.maxBuffer', 'number', value)
  if (!(value >= 0)) throw outOfRange('options.maxBuffer', '>= 0', value)
}

function checkKillSignal(value: unknown): number | undefined {
  if (typeof value === 'string' || typeof value === 'number') return toSignalNumber(value as NodeJS.Signals | number)
  if (value !== undefined && value !== null) throw invalidArgType('options.killSignal', ['string', 'number'], value)
  return undefined
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
  const maxBuffer = (opts.maxBuffer ?? MAX_BUFFER) as number
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
  let failure: ExecException | null = null
  const cb = callback as ExecCallback | undefined

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
      failure = Object.assign(new Error(`Command failed: ${cmd}\n${String(stderr)}`), {
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
      failure = e as ExecException
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
        failure = maxBufferExceeded(name)
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
    failure = e as ExecException
    child.stdout?.destroy()
    child.stderr?.destroy()
    finish()
  })
  return child
}

/** The promisified form: `{ stdout, stderr }`, or a rejection carrying them; `.child` is the child. */
function promisified(call: (...args: unknown[]) => Subprocess, name: string) {
  const fn = {
    [name](...args: unknown[]): Promise<ExecOutput> & { child: Subprocess } {
      let settle!: (value: ExecOutput) => void
      let fail!: (reason: unknown) => void
      const promise = new Promise<ExecOutput>((resolve, reject) => {
        settle = resolve
        fail = reject
      }) as Promise<ExecOutput> & { child: Subprocess }
      promise.child = call(...args, (error: ExecException | null, stdout: Chunk, stderr: Chunk) => {
        if (error !== null) {
          error.stdout = stdout
          error.stderr = stderr
          fail(error)
        } else {
          settle({ stdout, stderr })
        }
      })
      return promise
    },
  }[name]!
  return fn
}

/** Runs `file` with `args` (no shell unless `shell` says so) and buffers its output. */
export function execFile(file: string, callback?: ExecCallback): Subprocess
export function execFile(file: string, args: readonly string[] | null | undefined, callback?: ExecCallback): Subprocess
export function execFile(file: string, options: ExecFileOptions | null | undefined, callback?: ExecCallback): Subprocess
export function execFile(file: string, args: readonly string[] | null | undefined, options: ExecFileOptions | null | undefined, callback?: ExecCallback): Subprocess
export function execFile(file: string, ...rest: unknown[]): Subprocess {
  return execFileImpl(file, ...rest)
}

/** Runs `command` with `/bin/sh -c` (or `options.shell`) and buffers its output. */
export function exec(command: string, callback?: ExecCallback): Subprocess
export function exec(command: string, options: ExecOptions | null | undefined, callback?: ExecCallback): Subprocess
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

/** The promisified forms' results: a promise with the child as `.child`. */
export type PromiseWithChild<T> = Promise<T> & { child: Subprocess }

// util.promisify(exec) and util.promisify(execFile) take these types (and the functions below).
export declare namespace exec {
  function __promisify__(command: string, options?: ExecOptions & { encoding?: BufferEncoding | null }): PromiseWithChild<ExecOutput<string>>
  function __promisify__(command: string, options: ExecOptions & { encoding: 'buffer' }): PromiseWithChild<ExecOutput<Buffer>>
  function __promisify__(command: string, options?: ExecOptions | null): PromiseWithChild<ExecOutput>
}
export declare namespace execFile {
  function __promisify__(file: string, args?: readonly string[] | null): PromiseWithChild<ExecOutput<string>>
  function __promisify__(
    file: string,
    args: readonly string[] | null | undefined,
    options: ExecFileOptions & { encoding: 'buffer' },
  ): PromiseWithChild<ExecOutput<Buffer>>
  function __promisify__(
    file: string,
    args: readonly string[] | null | undefined,
    options: ExecFileOptions & { encoding?: BufferEncoding | null },
  ): PromiseWithChild<ExecOutput<string>>
  function __promisify__(file: string, options: ExecFileOptions & { encoding: 'buffer' }): PromiseWithChild<ExecOutput<Buffer>>
  function __promisify__(file: string, options?: ExecFileOptions | null): PromiseWithChild<ExecOutput<string>>
}

Object.defineProperty(exec, promisify.custom, { value: promisified(exec as (...args: unknown[]) => Subprocess, 'exec'), enumerable: false })
Object.defineProperty(execFile, promisify.custom, {
  value: promisified(execFile as (...args: unknown[]) => Subprocess, 'execFile'),
  enumerable: false,
})
